"""The CLI end to end, as a user runs it: separate processes, files in and out."""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import png_size

ROOT = Path(__file__).resolve().parents[2]
FAST_FIT = (
    "--proxy-epochs 1 --gen-epochs 1 --proxy-lr 1e-3 --gen-lr 1e-3 --max-length 64 --clf-epochs 1 --n 1 --quiet"
).split()


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        [sys.executable, "-m", "training", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        assert len(header) == len(set(header)), f"repeated columns in {header}"
        return list(reader)


@pytest.fixture(scope="module")
def cli_checkpoint(tmp_path_factory, tiny_mlm, english_csv) -> Path:
    out = tmp_path_factory.mktemp("cli") / "ckpt"
    proc = run_cli("fit", "--train", english_csv, "--base", tiny_mlm, "--out", out, *FAST_FIT)
    assert "wrote" in proc.stdout and (out / "diffusioncls.json").is_file()
    # the classifier was chosen on validation, and fit lists the three with their scores and the kept one
    listed = [
        line for line in proc.stdout.splitlines() if line.startswith("  ") and "validation macro-F1" in line
    ]
    assert len(listed) == 3 and sum(line.lstrip().startswith("kept ") for line in listed) == 1
    assert listed[2].endswith(": originals only, cross-entropy alone")
    assert re.search(
        r"classifier probabilities calibrated on \d+ validation texts: logits divided by ", proc.stdout
    )
    return out


def test_the_checkpoint_records_fits_label_filter_as_augments_default(
    cli_checkpoint, tiny_mlm, english_csv, tmp_path
):
    """`fit` writes augment's and POST /augment's default label filter into the checkpoint: 0.5 whatever
    the budget (these 72 texts train under tiny, whose own pseudo samples are not filtered), or the
    filter `--min-label-prob` gives (which then also filters fit's pseudo samples)."""
    body = json.loads((cli_checkpoint / "diffusioncls.json").read_text())
    assert body["sampler"]["min_label_prob"] == 0.5
    assert body["classifier"]["pseudo_samples"]["min_label_prob"] == 0.0
    out = tmp_path / "filtered"
    run_cli(
        "fit", "--train", english_csv, "--base", tiny_mlm, "--out", out, *FAST_FIT, "--min-label-prob", "0.2"
    )
    assert json.loads((out / "diffusioncls.json").read_text())["sampler"]["min_label_prob"] == 0.2
    card = (out / "README.md").read_text()
    assert "outputs the classifier gives their label under 0.2 replaced by fresh rewrites" in card


def test_fit_then_augment_writes_new_texts_with_provenance(cli_checkpoint, english_csv, tmp_path):
    out = tmp_path / "aug.csv"
    proc = run_cli(
        "augment",
        "--checkpoint",
        cli_checkpoint,
        "--input",
        english_csv,
        "--out",
        out,
        "--n",
        "2",
        "--limit",
        "10",
        "--steps",
        "group:4",
        "--rounds",
        "3",
        "--seed",
        "7",
        "--quiet",
    )
    summary = json.loads(proc.stdout[: proc.stdout.rindex("}") + 1])
    assert summary["requested"] == 20 and summary["produced"] == 20
    rows = read_rows(out)
    assert len(rows) == 20
    sources = read_rows(english_csv)[:10]
    for row in rows:
        source = sources[int(row["source_index"])]
        assert row["source_text"] == source["text"] and row["label"] == source["label"]
        assert row["text"] != source["text"]
        assert 13 <= int(row["step"]) <= 16 and row["rounds"] == "3" and row["seed"] == "7"
        assert json.loads(row["masked_positions"])
        assert 0.0 <= float(row["label_prob"]) <= 1.0
    again = tmp_path / "again.jsonl"
    run_cli(
        "augment",
        "--checkpoint",
        cli_checkpoint,
        "--input",
        english_csv,
        "--out",
        again,
        "--n",
        "2",
        "--limit",
        "10",
        "--steps",
        "group:4",
        "--rounds",
        "3",
        "--seed",
        "7",
        "--quiet",
    )
    assert [json.loads(line)["text"] for line in again.read_text().splitlines()] == [r["text"] for r in rows]


def test_balanced_policy_from_the_cli(cli_checkpoint, tmp_path):
    data = tmp_path / "imbalanced.csv"
    data.write_text(
        "text,label\nThe movie was great today!,joy\nThe show was lovely again!,joy\n"
        "The trip was happy tonight!,joy\nOur team was rude again!,anger\n"
    )
    out = tmp_path / "aug.csv"
    run_cli(
        "augment", "--checkpoint", cli_checkpoint, "--input", data, "--out", out, "--policy", "bd", "--quiet"
    )
    assert [r["label"] for r in read_rows(out)] == ["anger", "anger"]


def test_pretrain_creates_and_trains_a_missing_head(tiny_encoder_without_head, english_csv, tmp_path):
    out = tmp_path / "pretrained"
    proc = run_cli(
        "pretrain",
        "--base",
        tiny_encoder_without_head,
        "--texts",
        english_csv,
        "--heldout",
        english_csv,
        "--out",
        out,
        "--steps",
        "4",
        "--batch-size",
        "8",
        "--warmup-steps",
        "1",
        "--head-lr",
        "1e-3",
        "--quiet",
    )
    assert "held-out top-1 at 15%" in proc.stdout
    report = json.loads((out / "pretrain.json").read_text())
    assert report["head_created"] is True and report["steps"] == 4 and report["tokens"] > 0
    from transformers import AutoModelForMaskedLM

    _, info = AutoModelForMaskedLM.from_pretrained(str(out), output_loading_info=True, local_files_only=True)
    assert not info["missing_keys"]  # the folder now carries a trained head


def test_bad_input_exits_2_with_file_and_line(cli_checkpoint, tiny_mlm, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,a\n  ,b\n")
    proc = run_cli("fit", "--train", bad, "--base", tiny_mlm, "--out", tmp_path / "x", check=False)
    assert proc.returncode == 2 and f"{bad}:3: empty text" in proc.stderr
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("text,label\nThe movie was great!,love\n")
    proc = run_cli(
        "augment",
        "--checkpoint",
        cli_checkpoint,
        "--input",
        unknown,
        "--out",
        tmp_path / "o.csv",
        check=False,
    )
    assert proc.returncode == 2 and "unknown label(s) ['love']" in proc.stderr
    proc = run_cli(
        "augment", "--checkpoint", tmp_path, "--input", unknown, "--out", tmp_path / "o.csv", check=False
    )
    assert proc.returncode == 2 and "not a checkpoint" in proc.stderr
    assert not (tmp_path / "o.csv").exists()


def test_evaluate_prints_a_report_and_writes_json(cli_checkpoint, english_csv, tmp_path):
    out = tmp_path / "report.json"
    proc = run_cli("evaluate", "--checkpoint", cli_checkpoint, "--input", english_csv, "--out", out)
    assert proc.stdout.startswith("classifier on 72 texts: accuracy ")
    assert "confusion (rows: gold, columns: predicted)" in proc.stdout
    report = json.loads(out.read_text())
    assert report["n"] == 72 and report["model"] == "classifier"
    assert sum(map(sum, report["confusion_matrix"]["matrix"])) == 72
    assert 0.0 <= report["macro_f1"] <= 1.0 and set(report["per_class"]) == {"anger", "joy", "sad"}
    assert png_size(tmp_path / "report.confusion.png")[0] > 100  # the matrix as a heat map, beside the JSON


def test_classify_writes_labels_with_probabilities(cli_checkpoint, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("The movie was great today!\nOur team was rude again!\n")
    out = tmp_path / "pred.csv"
    run_cli("classify", "--checkpoint", cli_checkpoint, "--input", texts, "--out", out)
    rows = read_rows(out)
    assert [r["text"] for r in rows] == ["The movie was great today!", "Our team was rude again!"]
    for row in rows:
        probs = {k[5:]: float(v) for k, v in row.items() if k.startswith("prob_")}
        assert set(probs) == {"anger", "joy", "sad"}
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4)
        assert row["label"] == max(probs, key=probs.get)


def test_classify_batch_size_changes_the_speed_not_the_answer(cli_checkpoint, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("The movie was great today!\nOur team was rude again!\nI am so sad now.\n")
    outs = []
    for size in ("1", "64"):
        outs.append(tmp_path / f"pred-{size}.csv")
        proc = run_cli(
            "classify",
            "--checkpoint",
            cli_checkpoint,
            "--input",
            texts,
            "--out",
            outs[-1],
            "--batch-size",
            size,
        )
        assert "classifying" in proc.stderr and "3/3" in proc.stderr  # the progress bar, to its end
    one, many = read_rows(outs[0]), read_rows(outs[1])
    assert [r["label"] for r in one] == [r["label"] for r in many]
    for a, b in zip(one, many, strict=True):
        for key in (k for k in a if k.startswith("prob_")):
            assert float(a[key]) == pytest.approx(float(b[key]), abs=1e-4)
    quiet = run_cli("classify", "--checkpoint", cli_checkpoint, "--input", texts, "--out", outs[0], "--quiet")
    assert "classifying" not in quiet.stderr
    bad = run_cli(
        "classify",
        "--checkpoint",
        cli_checkpoint,
        "--input",
        texts,
        "--out",
        outs[0],
        "--batch-size",
        "0",
        check=False,
    )
    assert bad.returncode != 0 and "--batch-size must be at least 1" in bad.stderr


def test_augment_min_label_prob_flags_what_it_could_not_replace(cli_checkpoint, english_csv, tmp_path):
    out = tmp_path / "filtered.csv"
    run_cli(
        "augment",
        "--checkpoint",
        cli_checkpoint,
        "--input",
        english_csv,
        "--out",
        out,
        "--n",
        "1",
        "--limit",
        "6",
        "--min-label-prob",
        "0.9",
        "--max-attempts",
        "2",
        "--quiet",
    )
    rows = read_rows(out)
    assert len(rows) == 6  # n outputs still come back
    for row in rows:
        flagged = json.loads(row["details"] or "{}").get("below_min_label_prob", False)
        assert float(row["label_prob"]) >= 0.9 or flagged
    bad = run_cli(
        "augment",
        "--checkpoint",
        cli_checkpoint,
        "--input",
        english_csv,
        "--out",
        out,
        "--min-label-prob",
        "1.5",
        check=False,
    )
    assert bad.returncode == 2 and "min_label_prob" in bad.stderr


def test_version_prints_the_package_version():
    from training import __version__

    proc = run_cli("--version")
    assert proc.stdout.strip() == f"python -m training {__version__}"


def test_every_flag_of_every_command_has_help_with_its_default():
    import argparse

    from training.cli import _parsers, build_parser

    missing = []
    for parser in _parsers(build_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if not action.option_strings or isinstance(
                action, argparse._HelpAction | argparse._VersionAction
            ):
                continue
            shown = formatter._get_help_string(action) if action.help else ""
            has_default = action.default not in (None, False) and not action.required
            if not shown or (has_default and "default" not in shown.lower()):
                missing.append(f"{parser.prog} {action.option_strings[0]}: {shown!r}")
    assert not missing, "\n".join(missing)


def test_each_bench_command_runs_its_own_handler():
    from training.cli import bench, build_parser

    parser = build_parser()
    cases = {
        "quality": ["--data", "d", "--base", "b", "--out", "o"],
        "speed": ["--base", "b", "--texts", "t", "--out", "o"],
        "mlm": ["--bases", "b", "--heldout", "h", "--out", "o"],
        "decoding": [
            "--checkpoint",
            "c",
            "--texts",
            "t",
            "--lm",
            "l",
            "--setting",
            "s:rounds=8",
            "--out",
            "o",
        ],
        "fluency-lm": ["--texts", "t", "--out", "o"],
        "report": ["r.json"],
        "merge": ["a.json", "--out", "o"],
    }
    for name, argv in cases.items():
        args = parser.parse_args(["bench", name, *argv])
        assert args.run is getattr(bench, "_bench_" + name.replace("-", "_")), name


def test_the_fit_budget_follows_the_data_size_and_the_quick_budget_gives_the_classifier_enough_steps():
    from training.cli.fit import TINY_BELOW, fit_budget, quick_epochs

    # 90% of the texts train (validation aside): 300 texts -> 270 -> 17 batches of 16 -> 250 / 17 -> 15 epochs
    assert quick_epochs(300, 16) == 15
    assert quick_epochs(500, 16) == 9  # 450 -> 29 batches -> 8.6
    assert quick_epochs(100, 16) == 30  # 90 -> 6 batches -> 42, at most 30
    assert quick_epochs(999, 16) == 6  # 900 -> 57 batches -> 4.4, at least 6
    assert quick_epochs(300, 32) == 28  # 9 batches
    steady = {"gen_epochs": 2, "clf_batch_size": 16, "proxy_patience": 2, "clf_patience": 2}
    quick = fit_budget("auto", 300)
    assert quick == {
        "proxy_epochs": 15,
        "gen_epochs": 2,
        "clf_epochs": 15,
        "clf_batch_size": 16,
        "proxy_patience": 0,
        "clf_patience": 0,
        "n": 2,
        "regenerate_every": 0,
        "min_label_prob": 0.5,  # pseudo samples the proxy finds off-label are dropped
    }
    assert fit_budget("auto", TINY_BELOW)["clf_epochs"] == 30
    # 1,000 texts and more stay quick (6 epochs, filtered pseudo samples generated once); full is asked for
    assert fit_budget("auto", 1_000) == {**quick, "proxy_epochs": 6, "clf_epochs": 6}
    assert fit_budget("auto", 50_000) == fit_budget("quick", 50_000) == fit_budget("auto", 1_000)
    assert fit_budget("full", 1_000) == {
        "proxy_epochs": 8,
        "clf_epochs": 5,
        "n": 4,
        "regenerate_every": 1,
        "min_label_prob": 0.0,
        **steady,
    }
    # a handful of texts per label: the k-shot budget, every epoch trained (validation is a text or two a label)
    tiny = fit_budget("auto", TINY_BELOW - 1)
    assert tiny == {
        "proxy_epochs": 30,
        "gen_epochs": 10,
        "clf_epochs": 30,
        "clf_batch_size": 8,
        "proxy_patience": 0,
        "clf_patience": 0,
        "n": 4,
        "regenerate_every": 5,
        "min_label_prob": 0.0,
    }
    assert fit_budget("tiny", 50_000) == tiny
    assert fit_budget("quick", 300) == quick and fit_budget("full", 10)["n"] == 4


def test_fit_prints_the_budget_it_resolved_and_keeps_the_flags_a_user_set():
    from training.cli import build_parser
    from training.cli.fit import budget_line, fit_budget
    from training.cli.options import fill_unset

    args = build_parser().parse_args(
        ["fit", "--train", "t.csv", "--base", "b", "--out", "o", "--clf-epochs", "12"]
    )
    fill_unset(args, fit_budget(args.budget, 20))  # as `fit` does
    assert (args.clf_epochs, args.proxy_epochs, args.clf_batch_size, args.clf_patience) == (12, 30, 8, 0)
    assert budget_line(args, 20) == (
        "budget auto (tiny: 20 texts): proxy 30 epochs, generator 10, classifier 12 in batches of 8 with 4 "
        "pseudo samples per text regenerated every 5 epoch(s); proxy and classifier: every epoch trained, "
        "the last kept"
    )
    args.proxy_patience = 2
    assert budget_line(args, 20).endswith(
        "; proxy: early stopping after 2 epochs without a better validation macro-F1, classifier: every "
        "epoch trained, the last kept"
    )
    args.no_classifier = True
    assert budget_line(args, 20).endswith(
        "classifier none; proxy: early stopping after 2 epochs without a better validation macro-F1"
    )
    # under quick, the line says the pseudo samples are filtered, and a user's --min-label-prob 0 is kept
    args = build_parser().parse_args(["fit", "--train", "t.csv", "--base", "b", "--out", "o"])
    fill_unset(args, fit_budget(args.budget, 300))
    assert (
        "2 pseudo samples per text generated once, kept where the proxy gives their label >= 0.5 "
        "(calibrated, as label_prob);"
    ) in (budget_line(args, 300))
    args = build_parser().parse_args(
        ["fit", "--train", "t.csv", "--base", "b", "--out", "o", "--min-label-prob", "0"]
    )
    fill_unset(args, fit_budget(args.budget, 300))
    assert args.min_label_prob == 0.0 and "kept where" not in budget_line(args, 300)
    # without augmentation the line promises no pseudo samples
    args = build_parser().parse_args(
        ["fit", "--train", "t.csv", "--base", "b", "--out", "o", "--no-augmentation"]
    )
    fill_unset(args, fit_budget(args.budget, 300))
    assert "classifier 15 in batches of 16 on the originals alone;" in budget_line(args, 300)


def test_bench_quality_refuses_eda_without_wordnet_before_training(tmp_path, monkeypatch, capsys):
    """A row of EDA (eda, or eda-nrt under Lc) without WordNet would be a weaker method under EDA's
    name: refused up front."""
    from training.cli import main

    monkeypatch.setenv("DIFFUSIONCLS_WORDNET", str(tmp_path))  # an empty folder: no WordNet there
    out = tmp_path / "result.json"
    argv = [
        "bench",
        "quality",
        "--data",
        str(tmp_path),
        "--base",
        "b",
        "--methods",
        "none,eda,eda-nrt",
        "--out",
        str(out),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "eda and eda-nrt need WordNet" in err and "wordnet-base" in err
    assert not out.exists()


def _bench_quality_args(*flags: str):
    from training.cli import build_parser

    return build_parser().parse_args(["bench", "quality", "--data", "d", "--base", "b", "--out", "o", *flags])


def test_bench_quality_budget_bench_keeps_the_results_pages_budget_and_never_counts_the_data():
    from training.cli.bench_quality_args import fill_budget

    args = _bench_quality_args()
    line = fill_budget(args, training_texts=lambda: pytest.fail("the bench budget needs no data size"))
    assert (args.proxy_epochs, args.clf_epochs, args.n, args.regenerate_every) == (6, 4, 4, 1)
    assert args.max_length == 96  # the length of every run on the results page
    assert (args.gen_epochs, args.clf_batch_size, args.patience, args.fit_min_label_prob) == (2, 16, 2, 0.0)
    assert line == (
        "budget bench: proxy 6 epochs, generator 2, classifier 4, 4 pseudo samples per original "
        "regenerated every 1 epoch(s); classifier batches of 16, patience 2"
    )


def test_bench_quality_budget_auto_takes_fits_budget_for_the_seeds_data_size_and_keeps_explicit_flags():
    from training.cli import build_parser
    from training.cli.bench_quality_args import fill_budget

    small = _bench_quality_args(
        "--budget", "auto", "--clf-epochs", "9", "--methods", "none,diffusioncls-chosen"
    )
    line = fill_budget(small, training_texts=lambda: 240)
    # 240 texts: 216 train in 14 batches of 16 -> 18 epochs for 250 steps
    assert (small.proxy_epochs, small.clf_epochs, small.n, small.regenerate_every) == (18, 9, 2, 0)
    fit_args = build_parser().parse_args(["fit", "--train", "t.csv", "--base", "b", "--out", "o"])
    assert small.max_length == fit_args.max_length == 128  # texts cut where fit cuts them
    assert line.startswith("budget fit's quick (auto: 240 training texts): proxy 18 epochs")
    assert line.endswith(
        "classifier 9, 2 pseudo samples per original generated once; classifier batches of 16, every epoch "
        "trained, the last kept; diffusioncls-chosen keeps pseudo samples of label probability >= 0.5, as fit"
    )
    assert small.fit_min_label_prob == 0.5  # quick's label filter, for the method that trains as fit does
    large = _bench_quality_args("--budget", "auto", "--max-length", "64")
    assert "as fit" not in fill_budget(large, training_texts=lambda: 1_000)  # no method follows fit's filter
    assert large.max_length == 64
    assert (large.proxy_epochs, large.clf_epochs, large.n, large.regenerate_every) == (6, 6, 2, 0)
    full = _bench_quality_args("--budget", "full")  # the paper's schedule, asked for by name
    fill_budget(full, training_texts=lambda: 1_000)
    assert (full.proxy_epochs, full.clf_epochs, full.n) == (8, 5, 4)
    assert (full.regenerate_every, full.patience, full.fit_min_label_prob) == (1, 2, 0.0)
    quick = _bench_quality_args("--budget", "quick")  # whatever the size: quick's epochs follow it
    assert fill_budget(quick, training_texts=lambda: 2_000).startswith(
        "budget fit's quick (2000 training texts): proxy 6 epochs"
    )
    # ten texts a label: fit's tiny budget, which is the k-shot budget of the results page
    tiny = _bench_quality_args("--budget", "auto")
    assert fill_budget(tiny, training_texts=lambda: 20).endswith(
        "classifier batches of 8, every epoch trained, the last kept"
    )
    assert (tiny.proxy_epochs, tiny.gen_epochs, tiny.clf_epochs, tiny.clf_batch_size, tiny.patience) == (
        30,
        10,
        30,
        8,
        0,
    )
    assert (tiny.n, tiny.regenerate_every, tiny.fit_min_label_prob) == (4, 5, 0.0)


def test_fit_contrastive_weight_auto_chooses_the_classifier_and_a_number_fixes_the_loss():
    import argparse

    from training.cli import build_parser
    from training.cli.fit import _stage_configs, contrastive_weight
    from training.cli.options import sampler_defaults
    from training.defaults import TOTAL_STEPS

    assert contrastive_weight("auto") == "auto" and contrastive_weight("0.5") == 0.5
    for bad in ("-1", "x", "nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            contrastive_weight(bad)

    def configs(*flags):
        args = build_parser().parse_args(["fit", "--train", "t.csv", "--base", "b", "--out", "o", *flags])
        for name in ("proxy_epochs", "clf_epochs", "n", "regenerate_every"):
            setattr(args, name, 1)
        args.min_label_prob = 0.0  # what a budget would fill in
        stages = _stage_configs(args, sampler_defaults(args, TOTAL_STEPS))
        return stages["noise"].weight, stages["choose_classifier"]

    assert configs() == (1.0, True)
    assert configs("--contrastive-weight", "0.5") == (0.5, False)
    assert configs("--no-noise-resistance") == (0.0, False)


def test_fits_time_estimate_adds_up_its_stages_by_hand():
    from training.cli import build_parser
    from training.cli.fit import fit_budget, fit_minutes
    from training.cli.options import fill_unset

    args = build_parser().parse_args(["fit", "--train", "t.csv", "--base", "b", "--out", "o"])
    fill_unset(args, fit_budget(args.budget, 300))
    assert (args.proxy_epochs, args.clf_epochs, args.draws, args.n) == (15, 15, 2, 2)
    # 270 texts train: proxy 15 x 270 x 0.017 = 68.85 s, generator 2 epochs x 2 draws x 270 x 0.016 = 17.28,
    # two classifiers on pseudo samples (the classifier is chosen) x 15 x (270 + 540 pseudo) x 0.008 =
    # 194.4, a third on the originals alone 15 x 270 x 0.008 = 32.4, and the 540 pseudo samples decoded
    # once in 8 rounds x 0.006 = 25.92: 338.85 s
    assert fit_minutes(300, args, rounds=8) * 60 == pytest.approx(338.85)
    args.no_augmentation, args.contrastive_weight = True, 0.0  # plain fine-tuning: one classifier, no samples
    assert fit_minutes(300, args, rounds=8) * 60 == pytest.approx(68.85 + 17.28 + 15 * 270 * 0.008)


def test_fit_without_base_takes_the_shipped_base_and_says_what_to_give_when_it_is_missing(
    tmp_path, monkeypatch
):
    from training.cli import build_parser, options
    from training.cli.options import SHIPPED_BASE, default_base

    args = build_parser().parse_args(["fit", "--train", "t.csv", "--out", "o"])
    assert args.base is None  # left out: _cmd_fit fills it with default_base()
    monkeypatch.chdir(ROOT)
    assert default_base() == "base_models/minilm-l6-mlm-en-v3"  # relative to the clone: portable in the card
    assert (ROOT / default_base() / "config.json").is_file()
    monkeypatch.chdir(tmp_path)  # outside the clone: the absolute folder
    assert default_base() == str(SHIPPED_BASE)
    monkeypatch.setattr(options, "SHIPPED_BASE", tmp_path / "nowhere")  # a wheel without base_models/
    with pytest.raises(ValueError, match="--base is needed"):
        default_base()
