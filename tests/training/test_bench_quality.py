"""The quality benchmark end to end on tiny models: runs, shared stages, summary and table."""

from dataclasses import replace

import pytest
import torch

from tests.conftest import english_corpus, write_csv
from training.bench.quality import BenchConfig, resumable_runs, run_quality_bench, seconds_left
from training.bench.summary import format_table
from training.classifier import ClassifierConfig
from training.generator import GeneratorConfig


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench-data")
    rows = english_corpus(per_label=14, seed=3)
    write_csv(folder / "train.csv", rows[:30])
    write_csv(folder / "test.csv", rows[30:])
    return folder


def test_quality_bench_runs_every_method_and_summarises(dataset, tiny_mlm):
    config = BenchConfig(
        data_dir=str(dataset),
        base=str(tiny_mlm),
        methods=("none", "diffusioncls", "diffusioncls-no-da", "diffusioncls-no-lap", "diffusioncls-g2"),
        seeds=(0, 1),
        n=2,
        proxy=ClassifierConfig(epochs=1, lr=1e-3, max_length=48),
        generator=GeneratorConfig(epochs=1, lr=1e-3, max_length=48),
        classifier=ClassifierConfig(epochs=2, lr=1e-3, batch_size=8, max_length=48),
        device="cpu",
    )
    logged, partials = [], []
    result = run_quality_bench(config, progress=False, log=logged.append, on_record=partials.append)
    assert len(result["runs"]) == 10
    # after each run but the last the result so far is handed out, so an interrupted run keeps it
    assert [len(p["runs"]) for p in partials] == list(range(1, 10))
    assert not any(p["complete"] for p in partials)
    assert [p["seeds_done"] for p in partials[3:6]] == [[], [0], [0]]
    assert result["complete"] and result["seeds_done"] == [0, 1]
    by_method = {(r["method"], r["seed"]): r for r in result["runs"]}
    train_size = 27  # 30 rows minus a 10% stratified validation split
    assert by_method[("diffusioncls", 0)]["pseudo_samples"] == 2 * train_size
    assert by_method[("diffusioncls-no-da", 0)]["pseudo_samples"] == 0
    assert by_method[("none", 0)]["pseudo_samples"] == 0
    for record in result["runs"]:
        assert 0.0 <= record["macro_f1"] <= 1.0 and 0.0 <= record["accuracy"] <= 1.0
        # what the figures depend on beyond the configuration, per record (runs can be merged)
        env = record["environment"]
        assert env["device"] == "cpu" and env["auto_precision"] in ("fp32", "bf16")
        assert env["torch_threads"] == torch.get_num_threads() and isinstance(env["wordnet"], bool)
        assert env["cpu_bf16"] in ("amx_bf16", "avx512_bf16", None)
        assert (env["cpu_bf16"] is not None) == (env["auto_precision"] == "bf16")  # cpu: bf16 where native
    samples = by_method[("diffusioncls", 1)]["samples"]
    assert samples["count"] == 2 * train_size and 0 <= samples["consistency"] <= 1
    assert 0 < samples["distinct_2"] <= 1 and 0 <= samples["self_bleu"] <= 1
    assert len(samples["examples"]) == 8 and all(e["original"] and e["text"] for e in samples["examples"])
    summary = {row["method"]: row for row in result["summary"]}
    assert "delta_macro_f1" not in summary["none"]
    f1 = {m: [by_method[(m, s)]["macro_f1"] for s in (0, 1)] for m in ("none", "diffusioncls")}
    assert summary["diffusioncls"]["delta_macro_f1"] == pytest.approx(
        (f1["diffusioncls"][0] - f1["none"][0] + f1["diffusioncls"][1] - f1["none"][1]) / 2
    )
    diff = summary["diffusioncls"]
    low, high = diff["delta_macro_f1_ci"]
    assert low <= diff["delta_macro_f1"] <= high and diff["seeds_won"] in (0, 1, 2)
    assert diff["significant"] == (low > 0 or high < 0)
    assert len(by_method[("none", 0)]["predictions"]) == len(by_method[("none", 0)]["gold"])
    table = format_table(result["summary"])
    assert table.count("\n") == 6 and "| diffusioncls-g2 |" in table
    # the test calibration error as trained and after temperature scaling: each mean over the seeds
    eces = [by_method[("none", s)]["calibration"]["test"]["ece"] for s in (0, 1)]
    assert summary["none"]["test_ece"] == pytest.approx(
        [(eces[0][0] + eces[1][0]) / 2, (eces[0][1] + eces[1][1]) / 2]
    )
    assert table.splitlines()[0].endswith("| test ECE, as trained → calibrated |")
    assert f"| {summary['none']['test_ece'][0]:.3f} → " in table.splitlines()[2]
    assert any("seed 1:" in line for line in logged)
    # after each seed its time, and while seeds remain an estimate of the rest
    done_lines = [line for line in logged if " done in " in line]
    assert [line.split()[1] for line in done_lines] == ["0", "1"]
    assert "(1 of 2 seeds); about " in done_lines[0] and " min left, done around " in done_lines[0]
    assert done_lines[1].endswith("(2 of 2 seeds)")


def test_seconds_left_is_the_mean_seed_time_times_the_seeds_left():
    assert seconds_left([300.0, 200.0], 5) == 750.0  # mean 250 s, 3 seeds left
    assert seconds_left([90.0], 1) == 0.0
    with pytest.raises(ValueError):
        seconds_left([], 5)


def test_unknown_methods_are_refused_with_the_list():
    with pytest.raises(ValueError, match="unknown method"):
        BenchConfig(data_dir="x", base="y", methods=("none", "gpt2"))


def test_training_time_options_run_in_the_bench(dataset, tiny_mlm):
    config = BenchConfig(
        data_dir=str(dataset),
        base=str(tiny_mlm),
        methods=(
            "none",
            "label_confusion",
            "mixup",
            "embed_smote",
            "embed_vae",
            "eda",
            "lcda",
            "mlm_substitution",
        ),
        seeds=(0,),
        proxy=ClassifierConfig(epochs=1, lr=1e-3, max_length=48),
        generator=GeneratorConfig(epochs=1, lr=1e-3, max_length=48),
        classifier=ClassifierConfig(epochs=1, lr=1e-3, batch_size=8, max_length=48),
        device="cpu",
    )
    result = run_quality_bench(config, progress=False, log=lambda _: None)
    assert [r["method"] for r in result["runs"]] == list(config.methods)
    by_method = {r["method"]: r for r in result["runs"]}
    assert all(by_method[m]["pseudo_samples"] == 0 for m in config.methods[:5])
    for method in ("eda", "lcda", "mlm_substitution"):  # classic samples, drawn once, G/E n = 4
        assert by_method[method]["pseudo_samples"] == 4 * 27
        assert 0 <= by_method[method]["samples"]["consistency"] <= 1


def test_fair_baselines_run_with_their_budgets(tmp_path, tiny_mlm):
    # imbalanced: 20 texts of one label, 6 of another
    rows = english_corpus(per_label=20, seed=5)
    by_label: dict[str, list] = {}
    for text, label in rows:
        by_label.setdefault(label, []).append((text, label))
    labels = sorted(by_label)[:2]
    train = by_label[labels[0]][:18] + by_label[labels[1]][:6]
    write_csv(tmp_path / "train.csv", train)
    write_csv(tmp_path / "test.csv", by_label[labels[0]][18:] + by_label[labels[1]][6:12])
    config = BenchConfig(
        data_dir=str(tmp_path),
        base=str(tiny_mlm),
        methods=("none", "none-equal-examples", "class-weighted", "oversample"),
        seeds=(0,),
        n=2,
        proxy=ClassifierConfig(epochs=1, lr=1e-3, max_length=48),
        generator=GeneratorConfig(epochs=1, lr=1e-3, max_length=48),
        classifier=ClassifierConfig(epochs=2, lr=1e-3, batch_size=8, max_length=48, patience=0),
        device="cpu",
    )
    result = run_quality_bench(config, progress=False, log=lambda _: None)
    by_method = {r["method"]: r for r in result["runs"]}
    assert by_method["none"]["epochs_trained"] == 2
    assert by_method["none-equal-examples"]["epochs_trained"] == 2 * (1 + 2)
    assert by_method["class-weighted"]["epochs_trained"] == 2
    # oversampling tops the smaller class up to the larger one with copies
    from collections import Counter

    from training.data import read_labelled, train_val_split

    counts = Counter(train_val_split(read_labelled(tmp_path / "train.csv"), 0.1, 0)[0].labels)
    assert by_method["oversample"]["pseudo_samples"] == max(counts.values()) - min(counts.values()) > 0


def test_inverse_frequency_weights_by_hand():
    from training.classifier import inverse_frequency_weights

    # 6 examples, 3 classes: counts 3, 2, 1 (and class 3 absent) -> 6 / (4 * count)
    assert inverse_frequency_weights([0, 0, 0, 1, 1, 2], 4) == [0.5, 0.75, 1.5, 0.0]


def test_a_held_out_judge_scores_label_kept_when_the_setting_leaves_rows_unused(tmp_path, tiny_mlm):
    rows = english_corpus(per_label=16, seed=7)
    write_csv(tmp_path / "train.csv", rows[:36])
    write_csv(tmp_path / "test.csv", rows[36:])
    config = BenchConfig(
        data_dir=str(tmp_path),
        base=str(tiny_mlm),
        setting="kshot:4",
        methods=("none", "eda"),
        seeds=(0,),
        n=2,
        judge_texts=20,
        proxy=ClassifierConfig(epochs=1, lr=1e-3, max_length=48),
        generator=GeneratorConfig(epochs=1, lr=1e-3, max_length=48),
        classifier=ClassifierConfig(epochs=1, lr=1e-3, batch_size=8, max_length=48),
        judge=ClassifierConfig(epochs=1, lr=1e-3, max_length=48),
        device="cpu",
    )
    logged: list[str] = []
    result = run_quality_bench(config, progress=False, log=logged.append)
    samples = {r["method"]: r for r in result["runs"]}["eda"]["samples"]
    assert 0 <= samples["judge_label_kept"] <= 1 and 0 <= samples["judge_ceiling"] <= 1
    assert any("held-out judge:" in line for line in logged)
    table = format_table(result["summary"])
    assert "label kept (held-out judge; its ceiling)" in table and "BLEU vs original" in table


def test_held_out_rows_never_include_a_used_row():
    from training.bench.judge import held_out_rows
    from training.data import LabelledData

    full = LabelledData.from_pairs(
        [(f"text {i}", "ab"[i % 2]) for i in range(20)] + [("twice", "a"), ("twice", "a")]
    )
    used = LabelledData.from_pairs([("text 0", "a"), ("text 1", "b"), ("twice", "a")])
    rest = held_out_rows(full, used, limit=100, seed=0)
    assert rest is not None and len(rest) == 22 - 3
    assert ("text 0", "a") not in set(zip(rest.texts, rest.labels, strict=True))
    assert rest.texts.count("twice") == 1  # one copy was used, the other is free
    small = held_out_rows(full, used, limit=6, seed=0)
    assert small is not None and 4 <= len(small) <= 8 and set(small.labels) == {"a", "b"}
    assert held_out_rows(used, used, limit=10, seed=0) is None  # nothing left: no judge


def _small_config(dataset, tiny_mlm, **changes):
    config = BenchConfig(
        data_dir=str(dataset),
        base=str(tiny_mlm),
        methods=("none", "diffusioncls"),
        seeds=(0,),
        n=2,
        proxy=ClassifierConfig(epochs=1, lr=1e-3, max_length=48),
        generator=GeneratorConfig(epochs=1, lr=1e-3, max_length=48),
        classifier=ClassifierConfig(epochs=2, lr=1e-3, batch_size=8, max_length=48),
        device="cpu",
    )
    return replace(config, **changes)


def test_a_second_run_loads_the_shared_stages_from_the_cache_and_scores_the_same(dataset, tiny_mlm, tmp_path):
    cache = tmp_path / "cache"
    config = _small_config(dataset, tiny_mlm)
    first_log: list[str] = []
    first = run_quality_bench(config, progress=False, log=first_log.append, cache_dir=cache)
    assert sorted(entry.name.split("-")[0] for entry in cache.iterdir()) == ["generator", "none", "proxy"]
    assert first_log[-1].endswith("0 loaded, 3 trained and saved")
    # an ablation run on the same data, seed and base: nothing of the shared stages is trained again
    ablation = replace(config, methods=("none", "diffusioncls", "diffusioncls-no-nrt"))
    second_log: list[str] = []
    second = run_quality_bench(ablation, progress=False, log=second_log.append, cache_dir=cache)
    assert second_log[-1].endswith("3 loaded, 0 trained and saved")
    before = {r["method"]: r for r in first["runs"]}
    after = {r["method"]: r for r in second["runs"]}
    for method in ("none", "diffusioncls"):  # loaded weights are the trained weights
        assert after[method]["predictions"] == before[method]["predictions"]
    assert after["none"]["seconds"] == before["none"]["seconds"]  # the training cost, as recorded
    assert after["diffusioncls"]["samples"] == before["diffusioncls"]["samples"]
    # another seed is another entry
    run_quality_bench(replace(config, seeds=(1,)), progress=False, log=lambda _: None, cache_dir=cache)
    assert len(list(cache.iterdir())) == 6


def test_cache_keys_follow_every_part_and_an_entry_round_trips(tmp_path):
    import torch

    from training.bench.cache import ModelCache, entry_key

    parts = {"seed": 0, "proxy": {"epochs": 6}}
    assert entry_key("proxy", parts) == entry_key("proxy", dict(reversed(parts.items())))
    assert entry_key("proxy", parts) != entry_key("proxy", {**parts, "seed": 1})
    assert entry_key("proxy", parts) != entry_key("proxy", {**parts, "proxy": {"epochs": 7}})
    assert entry_key("proxy", parts) != entry_key("judge", parts)
    cache = ModelCache(tmp_path)
    model = torch.nn.Linear(3, 2)
    assert cache.load("proxy-x", model) is None
    cache.save("proxy-x", model, {"seconds": 1.5})
    other = torch.nn.Linear(3, 2)
    assert cache.load("proxy-x", other) == {"seconds": 1.5}
    assert torch.equal(other.weight, model.weight) and (cache.hits, cache.misses) == (1, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["proxy-x"]  # no temporary folder left behind


def test_an_interrupted_run_resumes_without_redoing_finished_runs(dataset, tiny_mlm):
    config = _small_config(dataset, tiny_mlm, methods=("none", "eda"), seeds=(0, 1))
    partials: list[dict] = []
    whole = run_quality_bench(config, progress=False, log=lambda _: None, on_record=partials.append)
    interrupted = partials[0]  # saved after (seed 0, none), then the run was stopped
    logged: list[str] = []
    resumed = run_quality_bench(
        config,
        progress=False,
        log=logged.append,
        done=resumable_runs(interrupted, config),
        done_seconds=1000.0,  # the interrupted run's wall time
    )
    assert 1000.0 < resumed["seconds"] < 1000.0 + whole["seconds"] * 10  # the whole cost, both parts
    assert "resuming: 1 of 4 (seed, method) runs already done" in logged
    assert sum(line.startswith("  none") for line in logged) == 1  # only seed 1's none ran
    key = lambda r: (r["seed"], r["method"])  # noqa: E731
    assert sorted(map(key, resumed["runs"])) == sorted(map(key, whole["runs"]))
    again = {key(r): r for r in resumed["runs"]}
    for record in whole["runs"]:  # eda of seed 0 is judged by the same (retrained) none classifier
        assert again[key(record)]["predictions"] == record["predictions"]
        assert again[key(record)].get("samples") == record.get("samples")
    assert resumed["complete"] and resumed["seeds_done"] == [0, 1]
    with pytest.raises(ValueError, match=r"cannot resume.*\['n'\]"):
        resumable_runs(interrupted, replace(config, n=3))
    # more methods or seeds than the earlier run is fine: the earlier records are kept
    assert resumable_runs(interrupted, replace(config, seeds=(0, 1, 2))) == interrupted["runs"]


def test_merging_a_seed_split_gives_the_result_of_one_run():
    """A five-seed result cut into seeds 0-2 and 3-4 (as two processes would write it) merges back into
    the same runs and summary; different settings or a (seed, method) in both are refused."""
    import copy
    import json
    from pathlib import Path

    from training.bench.quality import merge_results

    whole = json.loads((Path(__file__).parents[2] / "docs/bench/sst2-kshot5-v3.json").read_text())
    parts = []
    for seeds in ((0, 1, 2), (3, 4)):
        part = copy.deepcopy(whole)
        part["config"]["seeds"] = list(seeds)
        part["runs"] = [r for r in whole["runs"] if r["seed"] in seeds]
        parts.append(part)
    merged = merge_results(parts)
    assert merged["config"]["seeds"] == [0, 1, 2, 3, 4] and merged["seeds_done"] == [0, 1, 2, 3, 4]
    assert merged["complete"]
    parts[0]["complete"] = False  # e.g. stopped before a seed another part ran: the whole is complete
    assert merge_results(parts)["complete"]
    short = copy.deepcopy(parts[0])
    short["config"]["seeds"] = [0, 1, 2, 3]  # asked for seed 3, has no run of it
    assert not merge_results([short])["complete"]
    assert merged["runs"] == whole["runs"]
    assert json.loads(json.dumps(merged["summary"])) == whole["summary"]
    other = copy.deepcopy(parts[1])
    other["config"]["n"] = 8
    with pytest.raises(ValueError, match="differ in \\['n'\\]"):
        merge_results([parts[0], other])
    with pytest.raises(ValueError, match="more than one result"):
        merge_results([parts[0], parts[0]])


def test_a_result_from_before_the_repetition_penalty_merges_with_runs_made_without_it():
    import copy
    import json
    from pathlib import Path

    from training.bench.quality import merge_results

    old = json.loads((Path(__file__).parents[2] / "docs/bench/sst2-kshot5-v3.json").read_text())
    assert "repetition_penalty" not in old["config"]["decode"]["decode"]
    new = copy.deepcopy(old)
    new["runs"] = [dict(r, seed=r["seed"] + 10) for r in old["runs"]]
    new["config"]["seeds"] = [s + 10 for s in old["config"]["seeds"]]
    new["config"]["decode"]["decode"]["repetition_penalty"] = 1.0  # --repetition-penalty 1
    assert len(merge_results([old, new])["runs"]) == 2 * len(old["runs"])
    new["config"]["decode"]["decode"]["repetition_penalty"] = 2.0  # the new default: another setting
    with pytest.raises(ValueError, match="differ in \\['decode'\\]"):
        merge_results([old, new])


def test_a_result_from_before_the_whole_word_rule_merges_only_with_runs_that_allowed_pieces():
    import copy
    import json
    from pathlib import Path

    from training.bench.quality import merge_results

    old = json.loads((Path(__file__).parents[2] / "docs/bench/sst2-kshot5-v3.json").read_text())
    assert "whole_words" not in old["config"]["decode"]
    new = copy.deepcopy(old)
    new["runs"] = [dict(r, seed=r["seed"] + 10) for r in old["runs"]]
    new["config"]["seeds"] = [s + 10 for s in old["config"]["seeds"]]
    new["config"]["decode"]["decode"]["repetition_penalty"] = 1.0
    new["config"]["decode"]["whole_words"] = False
    assert len(merge_results([old, new])["runs"]) == 2 * len(old["runs"])
    new["config"]["decode"]["whole_words"] = True  # the rule on: another setting
    with pytest.raises(ValueError, match="differ in \\['decode'\\]"):
        merge_results([old, new])


def test_sample_examples_spread_one_per_original_over_the_originals():
    from training.bench.quality import sample_examples

    texts, labels = [f"t{i}" for i in range(20)], ["a", "b"] * 10
    # two pseudo samples for each of originals 0..15, none for 16..19
    samples = [(i, f"p{i}.{k}") for i in range(16) for k in range(2)]
    examples = sample_examples(samples, texts, labels)
    # 16 originals with samples, 8 kept: every second one, each with its first pseudo sample
    assert [e["original"] for e in examples] == ["t0", "t2", "t4", "t6", "t8", "t10", "t12", "t14"]
    assert examples[1] == {"label": "a", "original": "t2", "text": "p2.0"}
    assert [e["text"] for e in sample_examples([(3, "x"), (1, "y")], texts, labels)] == ["y", "x"]


def test_holdout_scores_on_a_stratified_share_of_train_csv_that_nothing_trains_on(tmp_path, tiny_mlm):
    from training.bench.quality import _read_splits
    from training.bench.splits import holdout_share, test_split_name

    assert holdout_share("test") is None and holdout_share("holdout:0.25") == 0.25
    assert test_split_name("dev") == "dev.csv"
    assert test_split_name("holdout:0.25") == "25% of train.csv held out (stratified)"
    for bad in ("holdout:0", "holdout:1", "holdout:x", "holdout:"):
        with pytest.raises(ValueError, match="held-out share"):
            holdout_share(bad)
    rows = english_corpus(per_label=10, seed=5)  # 10 per label; no test.csv, as a user's own data
    write_csv(tmp_path / "train.csv", rows)
    config = replace(_small_config(tmp_path, tiny_mlm), test_split="holdout:0.2", methods=("none",))
    pool, test = _read_splits(config)
    assert len(pool) + len(test) == len(rows)
    assert set(zip(pool.texts, pool.labels, strict=True)).isdisjoint(
        zip(test.texts, test.labels, strict=True)
    )
    assert sorted(test.counts().values()) == [2] * len(test.label_names)  # 20% of each class
    again_pool, again_test = _read_splits(config)  # the same split every time, whatever the run's seed
    assert again_test.texts == test.texts and again_pool.texts == pool.texts
    result = run_quality_bench(replace(config, seeds=(0, 1)), progress=False, log=lambda _: None)
    assert [len(r["predictions"]) for r in result["runs"]] == [len(test)] * 2
    with pytest.raises(ValueError, match="holdout:0.2"):  # a missing test file says what to do
        _read_splits(replace(config, test_split="test"))


def test_setting_texts_counts_what_one_seed_trains_on_after_the_holdout(tmp_path):
    from training.bench.quality import setting_texts

    write_csv(tmp_path / "train.csv", english_corpus(per_label=10, seed=5))  # 10 per label
    labels = len({label for _, label in english_corpus(per_label=10, seed=5)})
    assert setting_texts(str(tmp_path), "holdout:0.2", "full", 0) == 8 * labels  # 2 per label held out
    assert setting_texts(str(tmp_path), "holdout:0.2", "kshot:3", 0) == 3 * labels


def test_the_chosen_method_is_the_best_on_validation_of_the_two_losses_and_plain_fine_tuning(
    dataset, tiny_mlm
):
    """`diffusioncls-chosen` trains what `diffusioncls`, `diffusioncls-no-nrt` and `none` train (the
    first two on the same first pseudo samples) and keeps the one validation prefers (a tie keeps the
    earlier, Lc first)."""
    config = _small_config(
        dataset, tiny_mlm, methods=("none", "diffusioncls", "diffusioncls-no-nrt", "diffusioncls-chosen")
    )
    result = run_quality_bench(config, progress=False, log=lambda _: None)
    by = {r["method"]: r for r in result["runs"]}
    trained = [by["diffusioncls"], by["diffusioncls-no-nrt"], by["none"]]
    chosen = by["diffusioncls-chosen"]
    choice = chosen["classifier_choice"]
    scores = [r["val_macro_f1"] for r in trained]
    assert [c["val_macro_f1"] for c in choice["candidates"]] == scores
    assert choice["kept"] == scores.index(max(scores))
    assert chosen["predictions"] == trained[choice["kept"]]["predictions"]
    assert chosen["pseudo_samples"] == trained[choice["kept"]]["pseudo_samples"]
    assert "classifier_choice" not in by["diffusioncls"]
    # every record says what temperature scaling fitted on validation does on the test split
    calibration = by["none"]["calibration"]
    assert calibration["test"]["temperature"] == calibration["val"]["temperature"] >= 1.0


def test_the_chosen_method_filters_its_pseudo_samples_as_fit_does_at_the_runs_budget(dataset, tiny_mlm):
    """Under fit's quick budget `fit` keeps the pseudo samples the proxy gives their label >= 0.5, and so
    does `diffusioncls-chosen`; under a budget without the filter it keeps all of them."""
    from training.bench.methods import METHODS

    assert METHODS["diffusioncls-chosen"].label_filter(0.5) == 0.5
    assert METHODS["diffusioncls-chosen"].label_filter(0.0) == 0.0
    assert METHODS["diffusioncls-filter"].label_filter(0.0) == 0.5  # its own, whatever the budget
    assert METHODS["diffusioncls"].label_filter(0.5) == 0.0
    # End to end: a one-epoch tiny proxy gives no pseudo sample its label >= 0.5 (three labels, near
    # uniform), so under the filter the chosen method trains on none of them, as diffusioncls-filter does
    # The top-up variant (what POST /augment returns under min_label_prob) keeps n per text all the
    # same: each text's rewrites that never reach 0.5 come back, flagged, instead of being dropped;
    # without the flagged ones (-drop) nothing is left.
    methods = (
        "diffusioncls",
        "diffusioncls-filter",
        "diffusioncls-chosen",
        "diffusioncls-no-nrt-topup",
        "diffusioncls-no-nrt-topup-drop",
    )
    filtered = run_quality_bench(
        _small_config(dataset, tiny_mlm, methods=methods, fit_min_label_prob=0.5),
        progress=False,
        log=lambda _: None,
    )
    count = {r["method"]: r.get("samples", {}).get("count", 0) for r in filtered["runs"]}
    assert count == {
        "diffusioncls": 2 * 27,
        "diffusioncls-filter": 0,
        "diffusioncls-chosen": 0,
        "diffusioncls-no-nrt-topup": 2 * 27,
        "diffusioncls-no-nrt-topup-drop": 0,
    }
    # each record says what its first generation came to: the top-up decodes fresh rewrites for the
    # outputs under 0.5 and, none reaching it, returns every output flagged
    first = {r["method"]: r["generations"][0] for r in filtered["runs"] if "generations" in r}
    assert {m: (g["requested"], g["returned"], g["flagged"], g["kept"]) for m, g in first.items()} == {
        "diffusioncls": (54, 54, 0, 54),
        "diffusioncls-filter": (54, 54, 0, 0),
        "diffusioncls-chosen": (54, 54, 0, 0),
        "diffusioncls-no-nrt-topup": (54, 54, 54, 54),
        "diffusioncls-no-nrt-topup-drop": (54, 54, 54, 0),
    }
    assert first["diffusioncls-no-nrt-topup"]["decoded"] > first["diffusioncls"]["decoded"] >= 54
    assert all(g["epoch"] == 1 for g in first.values())
    unfiltered = run_quality_bench(
        _small_config(dataset, tiny_mlm, methods=("diffusioncls-chosen",)), progress=False, log=lambda _: None
    )
    assert unfiltered["runs"][0]["samples"]["count"] == 2 * 27


def test_fits_label_filter_keeps_apart_only_results_holding_a_method_that_follows_it():
    import copy
    import json
    from pathlib import Path

    from training.bench.quality import merge_results

    old = json.loads((Path(__file__).parents[2] / "docs/bench/sst2-kshot5-v3.json").read_text())
    assert "fit_min_label_prob" not in old["config"]  # written before the field: no filter
    new = copy.deepcopy(old)
    new["runs"] = [dict(r, seed=r["seed"] + 10) for r in old["runs"]]
    new["config"]["seeds"] = [s + 10 for s in old["config"]["seeds"]]
    new["config"]["fit_min_label_prob"] = 0.5
    assert len(merge_results([old, new])["runs"]) == 2 * len(old["runs"])  # no method follows it
    new["config"]["methods"] = [*new["config"]["methods"], "diffusioncls-chosen"]
    with pytest.raises(ValueError, match="fit_min_label_prob"):
        merge_results([old, new])


def test_a_method_overrides_only_the_decoding_fields_it_sets():
    from training.bench.methods import METHODS

    assert METHODS["diffusioncls"].decode_overrides() == {}
    assert METHODS["diffusioncls-cfg5-first2"].decode_overrides() == {
        "guidance_scale": 5.0,
        "guided_rounds": 2,
    }
    assert METHODS["diffusioncls-rep2"].decode_overrides() == {"repetition_penalty": 2.0}
    assert METHODS["diffusioncls-noprior"].decode_overrides() == {"prior_correction": 0.0}
