"""`python -m training <command>`: pretrain, fit, augment (with any method of the registry), classify, evaluate,
bench."""

from __future__ import annotations

import argparse
import logging
import sys

from training.data import DataError


def build_parser() -> argparse.ArgumentParser:
    from training import __version__
    from training.cli import augment, bench, classify, fit, pretrain

    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (pretrain, fit, augment, bench, classify):
        command.register(sub)  # each sets `run`, its handler
    return parser


def main(argv: list[str] | None = None) -> int:
    from training.common import quiet_transformers

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.argv = argv  # recorded with benchmark results: the exact command that made them
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    quiet_transformers()
    try:
        return args.run(args)
    except (DataError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
