"""Quality benchmark: does a method make the classifier better than the alternatives, on this data?

For every seed: the setting's training subset (full, fraction, k-shot, imbalanced), a validation split
carved from it (model selection never sees the test split), a proxy and a generator trained once and
shared by the DiffusionCLS variants, then one classifier per method, trained the same way and scored
on the test split. Reports macro-F1 and accuracy (mean ± std over seeds), the change against no
augmentation, wall time, and, per augmenter, the diversity and consistency of its samples. The stages
a seed shares between methods (and the model cache they go through) are in
`training.bench.shared_stages`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from training.augmenters.diffusion import DiffusionOptions
from training.augmenters.registry import Resources, build_augmenter
from training.bench.cache import ModelCache, file_fingerprint, folder_fingerprint
from training.bench.diversity import diversity_report
from training.bench.methods import METHODS, MethodSpec, follows_fits_filter
from training.bench.shared_stages import SeedRun, ensure_generator, fit_judge, none_classifier
from training.bench.splits import HOLDOUT_SEED, holdout_share
from training.bench.summary import summarise
from training.classifier import (
    PLAIN,
    ClassifierConfig,
    ClassifierRunner,
    NoiseResistance,
    PseudoSource,
)
from training.classifier.calibration import (
    calibrate,
    calibrated_copy,
    calibration_summary,
    temperature_curves,
)
from training.classifier.model import gold_and_probabilities
from training.common import cpu_bf16_kind, resolve_device, resolve_precision
from training.data import LabelledData, apply_setting, read_labelled, train_val_split
from training.defaults import (
    EVERY_ROUND_GUIDED,
    NO_PRIOR_CORRECTION,
    NO_REPETITION_PENALTY,
    PSEUDO_PER_ORIGINAL,
)
from training.generator import GeneratorConfig, ScheduleConfig
from training.metrics import accuracy, macro_f1
from training.oversample import rebalance_head
from training.pipeline import (
    ClassifierCandidate,
    PseudoPlan,
    classifier_candidates,
    diffusion_pseudo_source,
    train_choosing_classifier,
)
from training.policies import augment_balanced, each_counts
from training.stages import load_tokenizer, train_task_classifier
from training.steps import step_group
from training.text import TextCodec

# SeedRun moved to shared_stages with the stages it holds; it is still importable from here.
__all__ = ["BenchConfig", "SeedRun", "resumable_runs", "run_quality_bench"]


@dataclass(frozen=True)
class BenchConfig:
    data_dir: str
    base: str
    setting: str = "full"
    # file name in data_dir without .csv (SST-2: "dev", as the paper), or "holdout:<share>" for a
    # folder with only train.csv: that share of it, stratified, is the test split of every seed
    test_split: str = "test"
    methods: tuple[str, ...] = ("none", "diffusioncls")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # fewer rarely separate a difference from seed noise
    val_fraction: float = 0.1
    n: int = PSEUDO_PER_ORIGINAL  # pseudo samples per original (G/E)
    regenerate_every: int = 1
    proxy: ClassifierConfig = ClassifierConfig(epochs=6, patience=2, max_length=96)
    generator: GeneratorConfig = GeneratorConfig(epochs=2, max_length=96)
    classifier: ClassifierConfig = ClassifierConfig(epochs=4, batch_size=16, patience=2, max_length=96)
    schedule: ScheduleConfig = ScheduleConfig()
    decode: DiffusionOptions = DiffusionOptions(score=False)
    max_test: int | None = None  # cap the test split (first N rows) for quick runs
    # Held-out judge of "label kept": a classifier fitted on at most this many rows of the train split
    # that the run does not use (none under the `full` setting); 0 = no judge
    judge_texts: int = 1000
    judge: ClassifierConfig = ClassifierConfig(epochs=4, patience=2, max_length=96)
    device: str = "auto"
    # The label filter `fit` gives its pseudo samples at the run's budget (0.5 under quick, 0 under tiny,
    # full and the bench's): what a method that trains as fit does (`diffusioncls-chosen`) filters with
    fit_min_label_prob: float = 0.0

    def __post_init__(self) -> None:
        holdout_share(self.test_split)  # refuses a malformed holdout:<share> before any training
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; known: {sorted(METHODS)}")

    def to_dict(self) -> dict:
        body = asdict(self)
        body["decode"]["steps"] = list(self.decode.steps)
        return body


def run_quality_bench(
    config: BenchConfig,
    *,
    progress: bool = True,
    log=print,
    on_record=None,
    done: Sequence[dict] = (),
    done_seconds: float = 0.0,
    cache_dir: str | Path | None = None,
) -> dict:
    """Train and score every method for every seed.

    `on_record(result)` is called after each method with the result so far (`"complete": False`), so a
    caller can save it. `done` holds records of an interrupted run of the same configuration: their
    (seed, method) pairs are kept, not run again, and `done_seconds` is the wall time that run had
    spent, counted into this result's `seconds` so that a resumed run reports its whole cost. With
    `cache_dir`, the proxy, generators, judge and `none` classifier of each seed are loaded from that
    folder when an earlier run trained them with the same data, seed, base and configuration, and
    saved there when not.
    """
    device = resolve_device(config.device)
    full, test = _read_splits(config)
    cache = ModelCache(cache_dir) if cache_dir else None
    shared_parts = _shared_cache_parts(config, device) if cache is not None else {}
    wanted = {(seed, method) for seed in config.seeds for method in config.methods}
    runs: list[dict] = [r for r in done if (r["seed"], r["method"]) in wanted]
    finished = {(r["seed"], r["method"]) for r in runs}
    if runs:
        log(f"resuming: {len(runs)} of {len(wanted)} (seed, method) runs already done")
    resources = Resources(mlm_base=config.base, device=str(device))  # loaded once, shared by the seeds
    started = time.perf_counter() - done_seconds
    seeds_to_run = [s for s in config.seeds if any((s, m) not in finished for m in config.methods)]
    seed_seconds: list[float] = []  # wall time of each seed run in this invocation, for the estimate
    for seed in seeds_to_run:
        seed_started = time.perf_counter()
        pending = [m for m in config.methods if (seed, m) not in finished]
        subset = apply_setting(full, config.setting, seed)
        train, val = train_val_split(subset, config.val_fraction, seed)
        codec = TextCodec(load_tokenizer(config.base))
        ctx = SeedRun(
            seed,
            train=train,
            val=val,
            test=test,
            codec=codec,
            device=device,
            progress=progress,
            resources=resources,
        )
        ctx.cache, ctx.cache_parts = cache, {**shared_parts, "seed": seed}
        log(
            f"seed {seed}: {len(train)} train / {len(val)} validation / {len(test)} test, counts {train.counts()}"
        )
        fit_judge(config, ctx, full=full, used=subset, log=log)
        if "none" in config.methods and "none" not in pending and any(METHODS[m].pseudo for m in pending):
            ctx.reference = none_classifier(config, ctx)[0]  # judge of consistency
        for method in pending:
            runs.append(_run_method(config, ctx, method))
            log(_method_line(runs[-1]))
            if on_record is not None and len(runs) < len(wanted):
                on_record(_result(config, runs, started, complete=False))
        seed_seconds.append(time.perf_counter() - seed_started)
        log(_seed_done_line(seed, seed_seconds, len(seeds_to_run)))
    if cache is not None:
        log(f"model cache {cache.root}: {cache.hits} loaded, {cache.misses} trained and saved")
    return _result(config, runs, started, complete=True)


def setting_texts(data_dir: str, test_split: str, setting: str, seed: int) -> int:
    """How many texts `setting` gives one seed to train on (its validation split included)."""
    full, _ = _read_splits(BenchConfig(data_dir=data_dir, base="", test_split=test_split))
    return len(apply_setting(full, setting, seed))


def _read_splits(config: BenchConfig) -> tuple[LabelledData, LabelledData]:
    """The training pool (before the setting picks from it) and the test split, capped at `max_test`.
    Under `holdout:<share>` the test split is that stratified share of train.csv and the pool the
    rest: no test row is ever trained on, nor used by the held-out judge, which draws from the pool."""
    data_dir = Path(config.data_dir)
    full = read_labelled(data_dir / "train.csv")
    share = holdout_share(config.test_split)
    if share is not None:
        full, test = train_val_split(full, share, HOLDOUT_SEED)
    else:
        test_file = data_dir / f"{config.test_split}.csv"
        if not test_file.is_file():
            raise ValueError(
                f"{test_file} does not exist; to score on a part of train.csv held out from training, "
                "pass --test-split holdout:0.2"
            )
        test = read_labelled(test_file, min_classes=1)
    if config.max_test:
        test = test.subset(range(min(config.max_test, len(test))))
    unknown = sorted(set(test.labels) - set(full.label_names))
    if unknown:
        raise ValueError(f"the test split has labels {unknown} that the training split lacks")
    return full, test


def _shared_cache_parts(config: BenchConfig, device: torch.device) -> dict:
    """What every model-cache key of the run holds, whatever the seed and stage."""
    return {
        "train_csv": file_fingerprint(Path(config.data_dir) / "train.csv"),
        "setting": config.setting,
        # the pool the setting draws from shrinks under holdout:<share> (keys of other runs unchanged)
        **({"holdout": config.test_split} if holdout_share(config.test_split) is not None else {}),
        "val_fraction": config.val_fraction,
        "base": folder_fingerprint(config.base),
        "device": device.type,
    }


def seconds_left(seed_seconds: Sequence[float], seeds_total: int) -> float:
    """What the seeds not yet run should take at the pace of those run so far: their mean wall time
    times the number left. Every seed runs the same methods on data of the same size, so the first
    seed's time is a fair guide to the rest (0 once every seed has run)."""
    if not seed_seconds:
        raise ValueError("no seed has finished yet")
    return sum(seed_seconds) / len(seed_seconds) * (seeds_total - len(seed_seconds))


def _seed_done_line(seed: int, seed_seconds: Sequence[float], seeds_total: int) -> str:
    """The progress line after a seed: its time and, while seeds remain, an estimate of the rest."""
    done = len(seed_seconds)
    line = f"seed {seed} done in {seed_seconds[-1] / 60:.1f} min ({done} of {seeds_total} seeds"
    if done == seeds_total:
        return line + ")"
    left = seconds_left(seed_seconds, seeds_total)
    finish = time.strftime("%H:%M", time.localtime(time.time() + left))
    return line + f"); about {left / 60:.0f} min left, done around {finish}"


def _method_line(record: dict) -> str:
    """The log line of one (seed, method) run."""
    return (
        f"  {record['method']:<22} macro-F1 {record['macro_f1']:.4f}  accuracy {record['accuracy']:.4f}  "
        f"({record['seconds']:.0f}s, {record.get('pseudo_samples', 0)} pseudo samples)"
        + _calibration_note(record)
    )


def _calibration_note(record: dict) -> str:
    """The log line's note on the test split's calibration error before and after temperature scaling."""
    test = record.get("calibration", {}).get("test")
    if not test:
        return ""
    return f"  test ECE {test['ece'][0]:.3f} -> {test['ece'][1]:.3f} at T {test['temperature']:.2f}"


def _settings_differing(one: dict, other: dict) -> list[str]:
    """The settings two result configurations differ in, methods and seeds aside (compared as JSON has
    them: tuples are lists)."""

    def comparable(body: dict) -> dict:
        body = json.loads(json.dumps(body))
        # results written before the repetition penalty existed decoded without it, before guided_rounds
        # guided every round, and before the whole-word rule with word pieces allowed
        decode = body.get("decode", {}).get("decode", {})
        decode.setdefault("repetition_penalty", NO_REPETITION_PENALTY)
        decode.setdefault("guided_rounds", EVERY_ROUND_GUIDED)
        decode.setdefault("prior_correction", NO_PRIOR_CORRECTION)
        body.get("decode", {}).setdefault("whole_words", False)
        # and before `diffusioncls-chosen` filtered as fit does, with no filter
        body.setdefault("fit_min_label_prob", 0.0)
        return {k: v for k, v in body.items() if k not in ("methods", "seeds")}

    a, b = comparable(one), comparable(other)
    # fit's label filter changes only the methods that follow it: runs without them pair whatever it was
    if not follows_fits_filter([*one.get("methods", []), *other.get("methods", [])]):
        a.pop("fit_min_label_prob")
        b.pop("fit_min_label_prob")
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def resumable_runs(previous: dict, config: BenchConfig) -> list[dict]:
    """The records of an earlier result that a run of `config` can keep: refused, with the settings
    that differ, unless everything but the methods and seeds is the same."""
    differing = _settings_differing(previous["config"], config.to_dict())
    if differing:
        raise ValueError(
            f"cannot resume: the earlier run had other settings for {differing}; "
            "use another --out or the same settings"
        )
    return list(previous["runs"])


def merge_results(results: Sequence[dict]) -> dict:
    """One result from runs of the same settings made apart (seeds split over processes or machines):
    their records together, the summary computed again. Refused when the settings differ (methods and
    seeds aside) or when two results hold the same (seed, method)."""
    if not results:
        raise ValueError("nothing to merge")
    first = results[0]["config"]
    for other in results[1:]:
        differing = _settings_differing(first, other["config"])
        if differing:
            raise ValueError(f"cannot merge: the results differ in {differing}")
    runs = [r for result in results for r in result["runs"]]
    pairs = [(r["seed"], r["method"]) for r in runs]
    repeated = sorted(p for p, count in Counter(pairs).items() if count > 1)
    if repeated:
        raise ValueError(f"cannot merge: (seed, method) {repeated} is in more than one result")
    methods = list(dict.fromkeys(m for result in results for m in result["config"]["methods"]))
    seeds = sorted({s for result in results for s in result["config"]["seeds"]})
    done = set(pairs)
    return {
        "config": {**first, "methods": methods, "seeds": seeds},
        "runs": runs,
        "summary": summarise(runs, methods),
        "seeds_done": [s for s in seeds if {(s, m) for m in methods} <= done],
        # complete when every (seed, method) is there, whichever part ran it: a process stopped before
        # its last seed, which another one ran, leaves an incomplete part but a complete whole
        "complete": {(s, m) for s in seeds for m in methods} <= done,
        "seconds": round(sum(result.get("seconds", 0.0) for result in results), 1),
        "command": [result.get("command") for result in results],  # nested when a part was merged
    }


def _result(config: BenchConfig, runs: list[dict], started: float, *, complete: bool) -> dict:
    """The bench's result so far: configuration, runs, their summary and the seeds done."""
    done = {(r["seed"], r["method"]) for r in runs}
    return {
        "config": config.to_dict(),
        "runs": list(runs),
        "summary": summarise(runs, config.methods),
        # seeds with every method run
        "seeds_done": [s for s in config.seeds if {(s, m) for m in config.methods} <= done],
        "complete": complete,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _run_method(config: BenchConfig, ctx: SeedRun, method: str) -> dict:
    """Train one method's classifier on this seed and score it on the test split: its record."""
    spec = METHODS[method]
    samples: list[tuple[int, str]] = []  # (source index, text) of the first generation, for diversity
    generations: list[dict] = []  # DiffusionCLS: what each generation came to, filters included
    source: PseudoSource | None = None
    prerequisites = 0.0  # shared stages this method needs: its cost as if it ran alone
    if spec.pseudo == "diffusion":
        source, prerequisites = _diffusion_source(config, ctx, spec, samples=samples, generations=generations)
    elif spec.pseudo is not None:
        source, prerequisites = _static_source(config, ctx, spec, samples=samples)
    t0 = time.perf_counter()
    if method == "none":
        runner, report, trained_seconds = none_classifier(config, ctx)
        ctx.reference = runner
    else:
        runner, report = _train_method_classifier(config, ctx, spec, source=source)
        trained_seconds = time.perf_counter() - t0
    gold, predicted, calibration = _scored_with_calibration(runner, ctx)
    n_classes = len(runner.label_names)
    record = {
        "method": method,
        "seed": ctx.seed,
        "accuracy": accuracy(gold, predicted),
        "macro_f1": macro_f1(gold, predicted, n_classes),
        # kept for the paired bootstrap of `summarise` (same test examples for every method of a seed)
        "n_classes": n_classes,
        "gold": gold,
        "predictions": predicted,
        "best_epoch": report["best_epoch"],
        "epochs_trained": len(report["history"]),  # the row's budget (early stopping may end it sooner)
        "val_macro_f1": report["best_val_macro_f1"],
        "pseudo_samples": sum(r.get("pseudo_samples", 0) for r in report["history"][:1]),
        **({"classifier_choice": report["classifier_choice"]} if "classifier_choice" in report else {}),
        "calibration": calibration,
        "seconds": round(trained_seconds + prerequisites, 1),
        "environment": run_environment(ctx.device),
    }
    if samples:
        record["samples"] = _sample_quality(ctx, samples)
    if generations:
        record["generations"] = generations
    return record


def _scored_with_calibration(runner: ClassifierRunner, ctx: SeedRun) -> tuple[list[int], list[int], dict]:
    """Gold and predicted label indices of the test split, and what temperature scaling as `fit` does
    it (fitted on the validation split) does to the test probabilities: `{"val": ..., "test": ...}`
    of `calibration_summary`, and `"curves"`: each split's NLL and ECE at every temperature
    (`temperature_curves`). The predictions are those of the unscaled probabilities (the same)."""
    val_gold, val_probs = gold_and_probabilities(runner, ctx.val)
    val = calibrate(val_probs, val_gold)
    gold, probs = gold_and_probabilities(runner, ctx.test)
    test = calibration_summary(probs, gold, val["temperature"])
    # each split's NLL and ECE at every temperature tried: what another way of choosing T would have given
    curves = {
        "texts": {"val": len(val_gold), "test": len(gold)},
        "val": temperature_curves(val_probs, val_gold),
        "test": temperature_curves(probs, gold),
    }
    return gold, probs.argmax(-1).tolist(), {"val": val, "test": test, "curves": curves}


def run_environment(device: torch.device) -> dict:
    """What a record's figures depend on beyond the configuration, which can differ between the runs
    merged or resumed into one result: precision "auto" trains in bf16 on CPUs with AMX/AVX512-BF16
    and in float32 elsewhere, thread counts change reduction orders, and EDA without WordNet has no
    synonyms."""
    from training.augmenters.wordnet import find_wordnet_folder

    return {
        "device": str(device),
        "auto_precision": resolve_precision("auto", device),
        # which instructions computed bf16 (AMX or AVX512-BF16 alone): kernels differ between them, and
        # India-COVID-X full's seed 0 did not reproduce between two sessions (75.96, 76.28) whose recorded
        # environments were otherwise the same, while seeds 1 and 2 did
        "cpu_bf16": cpu_bf16_kind() if device.type == "cpu" else None,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "wordnet": find_wordnet_folder() is not None,
    }


def _diffusion_source(
    config: BenchConfig,
    ctx: SeedRun,
    spec: MethodSpec,
    *,
    samples: list[tuple[int, str]],
    generations: list[dict],
) -> tuple[PseudoSource, float]:
    """The pseudo samples of a DiffusionCLS variant, from the seed's shared generator, and the seconds
    of the shared stages it needs. The first generation also goes to `samples`, and what each
    generation came to (`pipeline.generation_counts`) to `generations`."""
    bundle = ensure_generator(config, ctx, spec.label_prompt)
    prerequisites = ctx.proxy_seconds + ctx.generator_seconds[spec.label_prompt]
    options = config.decode
    if spec.step_group is not None:
        options = replace(options, steps=step_group(spec.step_group, config.schedule.total_steps))
    options = replace(options, decode=replace(options.decode, **spec.decode_overrides()))
    if spec.whole_words is not None:
        options = replace(options, whole_words=spec.whole_words)
    threshold = spec.label_filter(config.fit_min_label_prob)
    judge = ctx.proxy
    assert judge is not None
    if spec.top_up:  # the augmenter's own filter, with top-up, before the pipeline's drop
        options = replace(options, min_label_prob=threshold)
    if spec.top_up or spec.calibrated_filter:
        # on the scale of the label_prob POST /augment filters on: the checkpoint's probabilities,
        # calibrated on validation as fit calibrates them (a temperature >= 1, which lowers the top
        # label's probability: the same bar is stricter there, from three labels on). Budgets that
        # regenerate (tiny) score the later generations with the classifier being trained, uncalibrated.
        judge = calibrated_copy(judge, ctx.val)
    if spec.keep_flagged:
        threshold = 0.0
    plan = PseudoPlan(
        policy=spec.policy,
        n=config.n,
        regenerate_every=config.regenerate_every,
        options=options,
        min_label_prob=threshold,
    )
    inner = diffusion_pseudo_source(
        bundle,
        ctx.codec,
        schedule=config.schedule,
        max_length=config.generator.max_length,
        proxy=judge,
        train=ctx.train,
        plan=plan,
        seed=ctx.seed,
        prior_shift=bundle.prior_shift(),
        generations=generations,
    )

    def source(epoch, runner):
        groups = inner(epoch, runner)
        if not samples:
            samples.extend((i, t) for i, group in enumerate(groups) for t in group)
        return groups

    return source, prerequisites


def _static_source(
    config: BenchConfig, ctx: SeedRun, spec: MethodSpec, *, samples: list[tuple[int, str]]
) -> tuple[PseudoSource, float]:
    """The pseudo samples of a classic augmenter, drawn once (into `samples` as well), and the
    seconds drawing them took."""
    t_static = time.perf_counter()
    groups = _static_samples(config, ctx, spec)
    prerequisites = time.perf_counter() - t_static
    samples.extend((i, t) for i, group in enumerate(groups) for t in group)

    def source(epoch, runner):
        return groups

    return source, prerequisites


def _train_method_classifier(
    config: BenchConfig, ctx: SeedRun, spec: MethodSpec, *, source: PseudoSource | None
) -> tuple[ClassifierRunner, dict]:
    """A method's task classifier, on the originals plus `source`'s pseudo samples."""
    # with `choose_classifier`, as `fit` trains it: Lc, cross-entropy alone, or the originals alone,
    # chosen on validation
    candidates = classifier_candidates(
        NoiseResistance() if spec.noise_resistant else PLAIN,
        choose=spec.choose_classifier,
        augmenting=source is not None,
    )
    classifier_config = config.classifier
    if spec.equal_examples:
        classifier_config = replace(classifier_config, epochs=classifier_config.epochs * (1 + config.n))

    def train_one(candidate: ClassifierCandidate, pseudo: PseudoSource | None):
        return train_task_classifier(
            config.base,
            ctx.codec,
            train=ctx.train,
            val=ctx.val,
            config=classifier_config,
            seed=ctx.seed,
            device=ctx.device,
            noise=candidate.noise,
            pseudo=pseudo,
            regenerate_every=config.regenerate_every if spec.pseudo == "diffusion" else 0,
            progress=ctx.progress,
            options=spec.options,
        )

    model, report, _ = train_choosing_classifier(train_one, candidates, source)
    if spec.rebalance:
        report["rebalance"] = rebalance_head(
            model,
            ctx.codec,
            ctx.train,
            method=spec.rebalance,
            seed=ctx.seed,
            max_length=config.classifier.max_length,
        )
    return ClassifierRunner(model, ctx.codec, config.classifier.max_length), report


def _static_samples(config: BenchConfig, ctx: SeedRun, spec: MethodSpec) -> list[list[str]]:
    """Samples of a classic augmenter, drawn once (they do not depend on the classifier)."""
    assert spec.pseudo is not None
    params = {} if spec.whole_words is None else {"whole_words": spec.whole_words}
    augmenter = build_augmenter(spec.pseudo, params, ctx.resources)
    if spec.policy == "bd":
        result = augment_balanced(augmenter, ctx.train.texts, ctx.train.labels, seed=ctx.seed)
    else:
        result = augmenter.augment(
            ctx.train.texts, ctx.train.labels, each_counts(len(ctx.train), config.n), seed=ctx.seed
        )
    groups: list[list[str]] = [[] for _ in ctx.train.texts]
    for a in result.augmentations:
        groups[a.source_index].append(a.text)
    return groups


# Pseudo samples kept in each result record, beside their originals, so a reader of a result file sees
# what the classifier was trained on, not only statistics of it.
EXAMPLES_KEPT = 8


def sample_examples(
    samples: list[tuple[int, str]], texts: Sequence[str], labels: Sequence[str]
) -> list[dict]:
    """The first pseudo sample of up to EXAMPLES_KEPT originals spread evenly over the originals that
    have one, each as {label, original, text}."""
    first: dict[int, str] = {}
    for i, text in samples:
        first.setdefault(i, text)
    sources = sorted(first)
    step = max(1, len(sources) / EXAMPLES_KEPT)
    picked = sorted({sources[int(k * step)] for k in range(min(EXAMPLES_KEPT, len(sources)))})
    return [{"label": labels[i], "original": texts[i], "text": first[i]} for i in picked]


def _sample_quality(ctx: SeedRun, samples: list[tuple[int, str]]) -> dict:
    """Diversity (distinct-n, self-BLEU against the original) and consistency of pseudo samples, and a
    few of them beside their originals."""
    texts = [t for _, t in samples]
    originals = [ctx.train.texts[i] for i, _ in samples]
    quality: dict = {"count": len(samples), **diversity_report(texts, originals)}
    quality["examples"] = sample_examples(samples, ctx.train.texts, ctx.train.labels)
    intended = [ctx.train.labels[i] for i, _ in samples]

    def kept(judge: ClassifierRunner) -> float:
        predicted = judge.predict_proba(texts).argmax(-1).tolist()
        return sum(judge.label_names[p] == y for p, y in zip(predicted, intended, strict=True)) / len(texts)

    reference = ctx.reference or ctx.proxy  # list "none" first to judge every method by the same model
    if reference is not None:
        quality["consistency"] = kept(reference)  # by a model that trained on these originals
    if ctx.judge is not None:
        quality["judge_label_kept"] = kept(ctx.judge)
        quality["judge_ceiling"] = ctx.judge_ceiling
    return quality
