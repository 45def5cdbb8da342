"""The command line of `python -m tools.service_bench`: the parser of `load` and `classify`, and `main`,
which runs one, writes its JSON report and prints it as text."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools.service_bench import __doc__ as PACKAGE_DOC
from tools.service_bench.classify import run_classify
from tools.service_bench.common import REPO
from tools.service_bench.load import run_load
from tools.service_bench.report import format_classify, format_report
from tools.service_bench.rss import plot_soak


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.service_bench", description=PACKAGE_DOC.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load", help="API + workers on loopback under concurrent augment and classify load")
    load.add_argument("--checkpoint", type=Path, default=REPO / "checkpoints" / "sample")
    load.add_argument("--workers", type=int, default=2)
    load.add_argument("--augment-jobs", type=int, default=200)
    load.add_argument("--items-per-job", type=int, default=2)
    load.add_argument("--n", type=int, default=2, help="new texts per item")
    load.add_argument("--method", default="diffusioncls")
    load.add_argument(
        "--warmup-jobs", type=int, default=20, help="jobs run before the 'before' memory reading"
    )
    load.add_argument("--classify-calls", type=int, default=1000)
    load.add_argument("--classify-texts", type=int, default=1, help="texts per /classify call")
    load.add_argument("--classify-concurrency", type=int, default=32)
    load.add_argument("--torch-threads", type=int, default=1, help="TORCH_THREADS of each process")
    load.add_argument(
        "--device", default="cpu", help="DEVICE of the workers and the API: cpu, cuda or auto (default cpu)"
    )
    load.add_argument(
        "--redis-url", default=None, help="use this Redis (a queue of its own) instead of a throwaway one"
    )
    load.add_argument("--timeout-s", type=float, default=3600, help="give up on jobs not done by then")
    load.add_argument("--settle-s", type=float, default=5.0)
    load.add_argument("--out", type=Path, default=REPO / "runs" / "load.json")
    load.add_argument(
        "--plot", type=Path, default=None, help="also draw the first worker's RSS through the burst (PNG)"
    )
    cls = sub.add_parser(
        "classify", help="/classify latency at concurrency 1 and 16 against the offline forward"
    )
    cls.add_argument("--checkpoint", type=Path, default=REPO / "checkpoints" / "sample")
    cls.add_argument("--calls", type=int, default=1600, help="calls at concurrency 16 (a quarter at 1)")
    cls.add_argument("--batch", type=int, default=64, help="offline batch size and CLASSIFY_MAX_BATCH")
    cls.add_argument("--min-seconds", type=float, default=5.0, help="least time of the offline measurement")
    cls.add_argument("--torch-threads", type=int, default=None)
    cls.add_argument(
        "--quantize",
        choices=["none", "int8"],
        default="none",
        help="CLASSIFY_QUANTIZE of the server, and the same model offline (default none)",
    )
    cls.add_argument("--out", type=Path, default=REPO / "runs" / "classify.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.checkpoint / "diffusioncls.json").is_file():
        print(
            f"bench: no checkpoint at {args.checkpoint} (bash scripts/run.sh fits checkpoints/sample)",
            file=sys.stderr,
        )
        return 2
    if args.command == "classify":
        result = run_classify(args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(format_classify(result))
        return 0
    report = run_load(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(format_report(report))
    print(f"\nJSON: {args.out}; logs: {report['logs']}")
    if args.plot:
        print(f"plot: {plot_soak(report, args.plot)}")
    return 0 if report["error_count"] == 0 else 1
