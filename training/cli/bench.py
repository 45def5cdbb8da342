"""`python -m training bench ...`: quality, speed, mlm, decoding, fluency-lm and report."""

from __future__ import annotations

import json
import time
from pathlib import Path

from training.cli.options import add_device, decoding_args, diffusion_options, sampler_defaults
from training.defaults import PSEUDO_PER_ORIGINAL, TOTAL_STEPS


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmarks: quality (methods over seeds), speed (sampler vs forward limit), report (docs page)",
    )
    bench = p.add_subparsers(dest="bench", required=True)
    _register_quality(bench)
    _register_speed(bench)
    _register_mlm(bench)
    _register_decoding(bench)
    _register_fluency_lm(bench)
    _register_report(bench)


def _register_quality(bench) -> None:
    q = bench.add_parser(
        "quality", help="train the same classifier per method and seed; score on the test split"
    )
    q.add_argument("--data", required=True, help="dataset folder with train.csv and the test split")
    q.add_argument(
        "--base", required=True, help="base MLM (HF id or folder) for proxy, generator and classifier"
    )
    q.add_argument(
        "--setting",
        default="full",
        help="full, fraction:<share>, kshot:<k>, imbalance:<ratio>, or steps joined by +",
    )
    q.add_argument(
        "--test-split", default="test", help="evaluation file in --data without .csv (default test)"
    )
    q.add_argument("--methods", default="none,diffusioncls", help="comma-separated; 'list' prints them")
    q.add_argument("--seeds", default="0,1,2", help="comma-separated seeds; use at least 5 for a verdict")
    q.add_argument("--n", type=int, default=PSEUDO_PER_ORIGINAL, help="pseudo samples per original (G/E)")
    q.add_argument(
        "--regenerate-every", type=int, default=1, help="epochs between fresh pseudo samples, 0 = once"
    )
    q.add_argument("--proxy-epochs", type=int, default=6, help="proxy classifier epochs")
    q.add_argument("--gen-epochs", type=int, default=2, help="generator epochs")
    q.add_argument("--clf-epochs", type=int, default=4, help="task classifier epochs")
    q.add_argument(
        "--clf-batch-size", type=int, default=16, help="originals per batch (their pseudo samples join)"
    )
    q.add_argument(
        "--patience",
        type=int,
        default=2,
        help="early stopping of proxy and classifier on validation macro-F1; 0 = train every epoch and keep "
        "the last weights (k-shot settings, whose validation split is a handful of texts)",
    )
    q.add_argument("--lr", type=float, default=1e-4, help="learning rate of proxy, generator and classifier")
    q.add_argument("--max-length", type=int, default=96, help="tokens per text, specials included")
    q.add_argument("--max-test", type=int, default=None, help="score on the first N test rows only")
    q.add_argument(
        "--judge-texts",
        type=int,
        default=1000,
        help="held-out judge of 'label kept': fitted on at most N train rows the run does not use "
        "(none under --setting full); 0 = no judge (default 1000)",
    )
    _quality_output_args(q)
    add_device(q)
    q.add_argument("--quiet", action="store_true", help="no progress bars")
    decoding_args(q, "decoding of DiffusionCLS pseudo samples")
    q.set_defaults(run=_bench_quality)


def _quality_output_args(q) -> None:
    """Where `bench quality` writes, resumes from and caches its trained stages."""
    q.add_argument("--out", required=True, help="result JSON (a Markdown table is written beside it)")
    q.add_argument(
        "--resume",
        action="store_true",
        help="keep the (seed, method) runs already in --out (saved after each one) and run the rest; "
        "refused when --out was written with other settings",
    )
    q.add_argument(
        "--cache",
        default="auto",
        help="folder of trained proxies, generators, judges and `none` classifiers, reused by later runs "
        "with the same data, seed, base and settings (about 90 MB each for MiniLM-L6); "
        "auto = a 'cache' folder beside --out, none = off (default auto)",
    )


def _register_speed(bench) -> None:
    sp = bench.add_parser(
        "speed", help="sampler vs forward-pass limit, a naive decoder and nlpaug, in one run"
    )
    src = sp.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="a fitted checkpoint (its generator and classifier or proxy)")
    src.add_argument("--base", help="a base MLM folder: speed only, with untrained label rows and proxy")
    sp.add_argument("--texts", required=True, help="file of real texts (.csv/.jsonl text column or .txt)")
    sp.add_argument("--seq-len", type=int, default=64, help="prompt tokens of every input")
    sp.add_argument("--batch-sizes", default="1,8,32,128", help="comma-separated batch sizes")
    sp.add_argument("--rounds", default="1,4,8", help="comma-separated decoding rounds K")
    sp.add_argument("--min-seconds", type=float, default=3.0, help="least time per measurement")
    sp.add_argument("--naive-samples", type=int, default=3, help="samples of the one-token-per-pass decoder")
    sp.add_argument("--nlpaug-python", default=None, help="interpreter with nlpaug (default: this one)")
    sp.add_argument("--nlpaug-model", default=None, help="MLM folder for nlpaug (default: --base)")
    sp.add_argument("--nlpaug-samples", type=int, default=64, help="samples timed through nlpaug")
    sp.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    add_device(sp)
    sp.add_argument("--out", required=True, help="result JSON (the table is written beside it as .md)")
    sp.set_defaults(run=_bench_speed)


def _register_mlm(bench) -> None:
    m = bench.add_parser(
        "mlm", help="masked-token accuracy and pseudo-perplexity of base models, side by side"
    )
    m.add_argument("--bases", required=True, nargs="+", help="base MLM folders or HF ids")
    m.add_argument("--heldout", required=True, nargs="+", help="held-out text files (.txt/.txt.gz/.csv)")
    m.add_argument("--rates", default="0.15,0.5", help="masking rates (default 0.15,0.5)")
    m.add_argument("--windows", type=int, default=512, help="held-out windows per file (default 512)")
    m.add_argument(
        "--pppl-windows", type=int, default=48, help="windows scored for pseudo-perplexity (default 48)"
    )
    m.add_argument(
        "--max-length", type=int, default=64, help="pieces per window, specials included (default 64)"
    )
    m.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:i]")
    m.add_argument("--out", required=True, help="result JSON (the table is written beside it as .md)")
    m.set_defaults(run=_bench_mlm)


def _register_decoding(bench) -> None:
    d = bench.add_parser(
        "decoding", help="fluency / label kept / words changed / speed of decoding settings on one checkpoint"
    )
    d.add_argument("--checkpoint", required=True, help="a fitted checkpoint folder")
    d.add_argument(
        "--texts", required=True, help="labelled CSV of originals (from the checkpoint's training data)"
    )
    d.add_argument(
        "--limit", type=int, default=200, help="originals used, a stratified-by-order head (default 200)"
    )
    d.add_argument("--n", type=int, default=1, help="outputs per original and setting (default 1)")
    d.add_argument("--lm", required=True, help="n-gram fluency model (.npz from bench fluency-lm)")
    d.add_argument(
        "--judge", default=None, help="held-out judge: a classifier folder, or a labelled CSV to fit one on"
    )
    d.add_argument(
        "--judge-out", default=None, help="where a judge fitted from a CSV is saved (reused when present)"
    )
    d.add_argument(
        "--setting",
        action="append",
        required=True,
        help="name:steps=13-16,rounds=4,temperature=1,top_p=1,top_k=0,guidance_scale=1,min_label_prob=0 (repeatable)",
    )
    d.add_argument("--seed", type=int, default=0, help="seed of the rewrites (default 0)")
    d.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda[:i]")
    d.add_argument("--out", required=True, help="result JSON (the table is written beside it as .md)")
    d.set_defaults(run=_bench_decoding)


def _register_fluency_lm(bench) -> None:
    f = bench.add_parser("fluency-lm", help="build the word trigram Kneser-Ney fluency model from plain text")
    f.add_argument(
        "--texts", required=True, nargs="+", help=".txt/.txt.gz/.csv/.jsonl files (split into sentences)"
    )
    f.add_argument("--min-count", type=int, default=2, help="rarer words are <unk> (default 2)")
    f.add_argument("--out", required=True, help="model file (.npz)")
    f.set_defaults(run=_bench_fluency_lm)


def _register_report(bench) -> None:
    r = bench.add_parser("report", help="Markdown page (and step-group plot) from result JSON files")
    r.add_argument("results", nargs="+", help="result JSON files written by bench quality")
    r.add_argument("--out", default="docs/RESULTS.md", help="the Markdown page to write")
    r.add_argument("--intro", default="", help="a file whose text goes under the title")
    r.set_defaults(run=_bench_report)


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


def _quality_config(args):
    """The BenchConfig of `bench quality`'s flags."""
    from training.bench.quality import BenchConfig
    from training.classifier import ClassifierConfig
    from training.generator import GeneratorConfig

    sampler = sampler_defaults(args, TOTAL_STEPS)
    return BenchConfig(
        data_dir=args.data,
        base=args.base,
        setting=args.setting,
        test_split=args.test_split,
        methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()),
        seeds=tuple(int(s) for s in args.seeds.split(",")),
        n=args.n,
        regenerate_every=args.regenerate_every,
        proxy=ClassifierConfig(
            lr=args.lr,
            epochs=args.proxy_epochs,
            patience=args.patience,
            max_length=args.max_length,
            precision=args.precision,
        ),
        generator=GeneratorConfig(
            lr=args.lr, epochs=args.gen_epochs, max_length=args.max_length, precision=args.precision
        ),
        classifier=ClassifierConfig(
            lr=args.lr,
            epochs=args.clf_epochs,
            batch_size=args.clf_batch_size,
            patience=args.patience,
            max_length=args.max_length,
            precision=args.precision,
        ),
        decode=diffusion_options(sampler, score=False),
        max_test=args.max_test,
        judge_texts=args.judge_texts,
        device=args.device,
    )


def _bench_quality(args) -> int:
    import shlex

    from training.bench.methods import METHODS
    from training.bench.quality import resumable_runs, run_quality_bench
    from training.bench.summary import format_table, write_result
    from training.bench.verdict import VERDICT_HEADER, verdict_row

    if args.methods == "list":
        for name, spec in METHODS.items():
            print(f"{name:<22} {spec.description}")
        return 0
    config = _quality_config(args)
    command = "python -m training " + shlex.join(args.argv)
    done: list[dict] = []
    if args.resume and Path(args.out).is_file():
        done = resumable_runs(json.loads(Path(args.out).read_text()), config)
    cache = None if args.cache == "none" else args.cache
    if cache == "auto":
        cache = Path(args.out).parent / "cache"

    def save_partial(partial: dict) -> None:
        write_result({**partial, "command": command}, args.out)
        pairs = len(config.seeds) * len(config.methods)
        print(f"wrote {args.out} ({len(partial['runs'])} of {pairs} runs; resume with --resume)")

    result = run_quality_bench(
        config, progress=not args.quiet, on_record=save_partial, done=done, cache_dir=cache
    )
    result["command"] = command
    table = format_table(result["summary"])
    table += "\n\n" + VERDICT_HEADER + "\n" + verdict_row(args.setting, result["runs"])
    header = (
        f"{Path(args.data).name}, setting {args.setting}, seeds {args.seeds}, base {args.base}, "
        f"evaluated on {args.test_split}.csv ({result['seconds'] / 60:.1f} min)"
    )
    print(header)
    print(table)
    write_result(result, args.out)
    Path(args.out).with_suffix(".md").write_text(f"{header}\n\n{table}\n")
    print(f"wrote {args.out}")
    return 0


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
            args.judge, checkpoint.settings.base_model, args.judge_out, args.device
        )
        judge = ClassifierRunner(model, TextCodec(codec_tokenizer), max_length=checkpoint.settings.max_length)
    result = run_decoding_study(
        augmenter,
        texts,
        labels,
        [parse_setting(spec) for spec in args.setting],
        NgramLM.load(args.lm),
        judge,
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
        augmenter = untrained_augmenter(args.base, device, args.precision)
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
