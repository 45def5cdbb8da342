"""`python -m training bench ...`: quality, speed, mlm, decoding, fluency-lm and report."""

from __future__ import annotations

import json
import time
from pathlib import Path

from training.cli import bench_decoding_args, bench_model_args, bench_quality_args


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmarks: quality (methods over seeds), speed (sampler vs forward limit), report (docs page)",
    )
    bench = p.add_subparsers(dest="bench", required=True)
    # Each subcommand's flags are in a bench_*_args module (one per group of subcommands); the
    # handlers stay in this module, below.
    bench_quality_args.add_quality(bench).set_defaults(run=_bench_quality)
    bench_model_args.add_speed(bench).set_defaults(run=_bench_speed)
    bench_model_args.add_mlm(bench).set_defaults(run=_bench_mlm)
    bench_decoding_args.add_decoding(bench).set_defaults(run=_bench_decoding)
    bench_decoding_args.add_fluency_lm(bench).set_defaults(run=_bench_fluency_lm)
    bench_quality_args.add_report(bench).set_defaults(run=_bench_report)
    bench_quality_args.add_merge(bench).set_defaults(run=_bench_merge)


def _bench_mlm(args) -> int:
    from training.bench.mlm import format_mlm_table, run_mlm_bench

    result = run_mlm_bench(
        args.bases,
        args.heldout,
        rates=[float(r) for r in args.rates.split(",")],
        windows=args.windows,
        pppl_windows=args.pppl_windows,
        max_length=args.max_length,
        device=args.device,
    )
    return _save_bench(args, result, format_mlm_table)


def _bench_report(args) -> int:
    from training.bench.report import load_results, render

    intro = Path(args.intro).read_text(encoding="utf-8") if args.intro else ""
    print(f"wrote {render(load_results(args.results), args.out, intro)}")
    return 0


def _bench_quality(args) -> int:
    import shlex

    from training.bench.methods import METHODS
    from training.bench.quality import resumable_runs, run_quality_bench
    from training.bench.summary import write_result

    if args.methods == "list":
        for name, spec in METHODS.items():
            print(f"{name:<22} {spec.description}")
        return 0
    missing = [f"--{name}" for name in ("data", "base", "out") if getattr(args, name) is None]
    if missing:
        raise ValueError(f"bench quality needs {', '.join(missing)} (only --methods list runs without them)")
    config = bench_quality_args.quality_config(args)
    _require_wordnet_for_eda(config.methods)
    command = "python -m training " + shlex.join(args.argv)
    done: list[dict] = []
    done_seconds = 0.0
    if args.resume and Path(args.out).is_file():
        previous = json.loads(Path(args.out).read_text())
        done = resumable_runs(previous, config)
        done_seconds = float(previous.get("seconds", 0.0))
    cache = None if args.cache == "none" else args.cache
    if cache == "auto":
        cache = Path(args.out).parent / "cache"

    def save_partial(partial: dict) -> None:
        write_result({**partial, "command": command}, args.out)
        pairs = len(config.seeds) * len(config.methods)
        print(f"wrote {args.out} ({len(partial['runs'])} of {pairs} runs; resume with --resume)")

    result = run_quality_bench(
        config,
        progress=not args.quiet,
        on_record=save_partial,
        done=done,
        done_seconds=done_seconds,
        cache_dir=cache,
    )
    result["command"] = command
    _write_quality(result, args.out)
    return 0


def _write_quality(result: dict, out: str) -> None:
    """Print and write a quality result: its JSON, and beside it a Markdown table with the verdict."""
    from training.bench.splits import test_split_name
    from training.bench.summary import config_budget_words, format_examples, format_table, write_result
    from training.bench.verdict import VERDICT_HEADER, verdict_row

    config = result["config"]
    seeds = ",".join(map(str, config["seeds"]))
    table = format_table(result["summary"])
    table += "\n\n" + VERDICT_HEADER + "\n" + verdict_row(config["setting"], result["runs"])
    header = (
        f"{Path(config['data_dir']).name}, setting {config['setting']}, seeds {seeds}, base {config['base']}, "
        f"evaluated on {test_split_name(config['test_split'])} ({result['seconds'] / 60:.1f} min"
        # a merged result's time is its parts' added up, which ran side by side
        + (" in parts, added up)" if isinstance(result.get("command"), list) else ")")
        + f"; budget: {config_budget_words(config)}"
    )
    print(header)
    print(table)
    write_result(result, out)
    examples = format_examples(result["runs"])
    Path(out).with_suffix(".md").write_text(
        f"{header}\n\n{table}\n" + (f"\n{examples}\n" if examples else "")
    )
    print(f"wrote {out}")


def _bench_merge(args) -> int:
    from training.bench.quality import merge_results

    merged = merge_results([json.loads(Path(path).read_text()) for path in args.results])
    _write_quality(merged, args.out)
    return 0


def _require_wordnet_for_eda(methods) -> None:
    """EDA without WordNet has no synonym replacement or insertion: a different, weaker method. A
    benchmark row of EDA must be the real one, so the run is refused before any training."""
    from training.augmenters.wordnet import ENV_VAR, find_wordnet_folder
    from training.bench.methods import METHODS

    eda_rows = [m for m in methods if METHODS[m].pseudo == "eda"]  # eda, and eda-nrt under Lc
    if eda_rows and find_wordnet_folder() is None:
        raise ValueError(
            f"{' and '.join(eda_rows)} need WordNet for EDA's synonyms and none was found: install "
            f"Debian's wordnet-base (apt-get install wordnet-base) or set {ENV_VAR} to a WordNet database "
            "folder, or leave them out of --methods"
        )


def _bench_fluency_lm(args) -> int:
    from training.fluency import NgramLM
    from training.pretrain import Source, iter_documents, parse_source, split_sentences

    started = time.perf_counter()
    sentences: list[str] = []
    for spec in args.texts:
        source: Source = parse_source(spec)
        for doc in iter_documents(source):
            sentences.extend(split_sentences(doc))
    lm = NgramLM.train(sentences, min_count=args.min_count)
    lm.save(args.out)
    print(
        f"{len(sentences):,} sentences, {lm.size:,} words, {len(lm.tri_keys):,} trigrams "
        f"in {time.perf_counter() - started:.0f}s -> {args.out}"
    )
    return 0


def _bench_decoding(args) -> int:

    from training.augmenters.diffusion import DiffusionAugmenter
    from training.bench.decoding import format_decoding_table, parse_setting, run_decoding_study
    from training.checkpoint import load_checkpoint
    from training.classifier import ClassifierRunner
    from training.common import resolve_device
    from training.data import read_labelled
    from training.fluency import NgramLM
    from training.text import TextCodec

    checkpoint = load_checkpoint(args.checkpoint, resolve_device(args.device))
    augmenter = DiffusionAugmenter.from_checkpoint(checkpoint)
    data = read_labelled(args.texts)
    # Round-robin over the labels so a short head still covers every class.
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(data.labels):
        by_label.setdefault(label, []).append(i)
    order = [i for group in zip(*by_label.values(), strict=False) for i in group][: args.limit]
    texts, labels = [data.texts[i] for i in order], [data.labels[i] for i in order]
    judge = None
    if args.judge:
        from training.bench.judge import load_or_fit_judge

        model, codec_tokenizer = load_or_fit_judge(
            args.judge, base=checkpoint.settings.base_model, out=args.judge_out, device=args.device
        )
        judge = ClassifierRunner(model, TextCodec(codec_tokenizer), max_length=checkpoint.settings.max_length)
    result = run_decoding_study(
        augmenter,
        texts,
        labels,
        settings=[parse_setting(spec) for spec in args.setting],
        lm=NgramLM.load(args.lm),
        judge=judge,
        n=args.n,
        seed=args.seed,
    )
    return _save_bench(args, result, format_decoding_table)


def _save_bench(args, result: dict, format_table) -> int:
    """Record the exact command, write the result JSON (atomically) and its table beside it as .md."""
    import shlex

    from training.bench.summary import write_result

    result["command"] = "python -m training " + shlex.join(args.argv)
    write_result(result, args.out)
    table = format_table(result)
    Path(args.out).with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


def _bench_speed(args) -> int:
    import shlex

    import torch

    from training.augmenters.diffusion import DiffusionAugmenter
    from training.bench.speed import SpeedConfig, format_speed_table, run_speed_bench, untrained_augmenter
    from training.checkpoint import load_checkpoint
    from training.common import resolve_device
    from training.data import read_texts

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if args.checkpoint:
        augmenter = DiffusionAugmenter.from_checkpoint(
            load_checkpoint(args.checkpoint, device), args.precision
        )
        model_folder = args.nlpaug_model
    else:
        augmenter = untrained_augmenter(args.base, device, precision=args.precision)
        model_folder = args.nlpaug_model or args.base
    config = SpeedConfig(
        seq_len=args.seq_len,
        batch_sizes=tuple(int(b) for b in args.batch_sizes.split(",")),
        rounds=tuple(int(k) for k in args.rounds.split(",")),
        min_seconds=args.min_seconds,
        naive_samples=args.naive_samples,
        nlpaug_python=args.nlpaug_python,
        nlpaug_samples=args.nlpaug_samples,
        nlpaug_model=model_folder,
    )
    result = run_speed_bench(augmenter, read_texts(args.texts), config)
    result["command"] = "python -m training " + shlex.join(args.argv)
    table = format_speed_table(result)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(f"```bash\n{result['command']}\n```\n\n{table}\n")
    print(f"wrote {out}")
    return 0
