"""``cisim params`` and ``cisim scenarios``: what can be set, and the named presets."""

from __future__ import annotations

import argparse
import json

from model.parameters import PARAMETERS, Parameter
from model.scenarios import NAMED_SCENARIOS


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``params`` and ``scenarios`` subcommands."""
    p = sub.add_parser("params", help="list every parameter with unit, default, range, meaning")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_params)
    s = sub.add_parser("scenarios", help="list the named scenarios and what each changes")
    s.set_defaults(func=cmd_scenarios)


def parameter_record(p: Parameter) -> dict:
    """One parameter as plain data (the JSON form of ``cisim params``)."""
    record = {"name": p.name, "unit": p.unit, "default": p.default}
    if p.kind == "choice":
        record["choices"] = list(p.choices or ())
    else:
        record["min"], record["max"] = p.minimum, p.maximum
    record.update({"type": p.kind, "group": p.group, "description": p.description})
    return record


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter table or its JSON form."""
    if args.format == "json":
        print(json.dumps([parameter_record(p) for p in PARAMETERS], indent=2))
        return 0
    rows = [("name", "default", "unit", "allowed", "meaning")]
    rows += [(p.name, str(p.default), p.unit, p.allowed, p.description) for p in PARAMETERS]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    """Print each named scenario, its changes from the defaults and its description."""
    for s in NAMED_SCENARIOS.values():
        changes = ", ".join(f"{k}={v}" for k, v in s.changes.items())
        print(f"{s.name}\n  changes: {changes}\n  {s.description}\n")
    return 0
