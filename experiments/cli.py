"""The ``cisim`` command line.

Each subcommand lives in its own module under ``experiments.commands`` and
exposes ``register(subparsers)``; adding a command means adding its module name
to ``COMMAND_MODULES``. Bad input ends with one line on stderr and exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from experiments.errors import UsageError
from model.parameters import ParameterError

COMMAND_MODULES: tuple[str, ...] = (
    "experiments.commands.info",
    "experiments.commands.run",
    "experiments.commands.compare",
    "experiments.commands.breakeven",
    "experiments.commands.app",
    "experiments.commands.sweep",
    "experiments.commands.analyze",
)


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # noqa: D102
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every registered subcommand."""
    parser = _Parser(prog="cisim", description="Collective-impact simulation tools.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``cisim`` with ``argv`` (default: the process arguments); return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except (UsageError, ParameterError) as exc:
        if debug:
            traceback.print_exc()
        print(f"cisim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cisim: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if debug:
            traceback.print_exc()
        print(f"cisim: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
