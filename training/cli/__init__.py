"""`python -m training <command>`: pretrain, fit, augment (with any method of the registry), classify, evaluate,
bench."""

from __future__ import annotations

import argparse
import logging
import sys

from training.data import DataError


class _ShowDefaults(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help already names one (or there is
    none to name: a required option, a switch, a value that is unset by default)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unnamed = action.default in (None, False, argparse.SUPPRESS) or action.required
        if unnamed or not action.option_strings or "default" in text.lower():
            return text
        default = action.default
        shown = ",".join(map(str, default)) if isinstance(default, list | tuple) else str(default)
        return f"{text} (default: {shown or 'none'})" if text else f"default: {shown or 'none'}"


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def build_parser() -> argparse.ArgumentParser:
    from training import __version__
    from training.cli import augment, bench, classify, fit, pretrain

    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (pretrain, fit, augment, bench, classify):
        command.register(sub)  # each sets `run`, its handler
    for each in _parsers(parser):
        each.formatter_class = _ShowDefaults
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
