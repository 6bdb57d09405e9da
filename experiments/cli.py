"""The ``cisim`` command line.

Each subcommand lives in its own module under ``experiments.commands`` and
exposes ``register(subparsers)``; adding a command means adding its module name
to ``COMMAND_MODULES``. Bad input ends with one line on stderr and exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import re
import sys
import traceback
import warnings
from typing import Any, NoReturn

from experiments.engine.limits import suggest
from experiments.errors import UsageError
from model.parameters import ParameterError

COMMAND_MODULES: tuple[str, ...] = (
    "experiments.commands.info",
    "experiments.commands.run",
    "experiments.commands.compare",
    "experiments.commands.breakeven",
    "experiments.commands.conditions",
    "experiments.commands.calibrate",
    "experiments.commands.app",
    "experiments.commands.sweep",
    "experiments.commands.analyze",
)


_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")
_LONGEST_ERROR = 300  # characters of an error line; long inputs are cut


class _Parser(argparse.ArgumentParser):
    """An argparse parser: no abbreviated options, one-line errors with suggestions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # --step is not --steps
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        match = _CHOICE.search(message)
        if match:
            choices = re.findall(r"'([^']*)'", match.group(2))
            message += suggest(match.group(1), choices)
        raise UsageError(f"{self.prog}: {message}")


def version() -> str:
    """The installed package's version."""
    try:
        return importlib.metadata.version("collective-impact-sim")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every registered subcommand."""
    parser = _Parser(prog="cisim", description="Collective-impact simulation tools.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"cisim {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _one_line(message: object) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= _LONGEST_ERROR else text[: _LONGEST_ERROR - 3] + "..."


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: object = None, line: str | None = None) -> None:
    print(f"cisim: warning: {_one_line(message)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run ``cisim`` with ``argv`` (default: the process arguments); return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    parser = build_parser()
    if not argv:
        parser.print_usage()
        print("cisim: error: give a command; 'cisim --help' lists them, 'cisim COMMAND "
              "--help' explains one", file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _show_warning  # one line each, no source lines
            args = parser.parse_args(argv)
            return int(args.func(args) or 0)
    except (UsageError, ParameterError) as exc:
        if debug:
            traceback.print_exc()
        print(f"cisim: error: {_one_line(exc)}", file=sys.stderr)
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
