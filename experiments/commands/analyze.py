"""``cisim analyze``: sensitivity indices, response curves and heat maps of a sweep."""

from __future__ import annotations

import argparse
import sys

from experiments.commands.options import integer
from experiments.engine import read_manifest
from experiments.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` subcommand."""
    p = sub.add_parser(
        "analyze", help="sensitivity indices and figures of a finished sweep",
        description="Sobol' (S1, S2, ST) or Morris (mu*, sigma) indices on replication means, "
                    "written to DIR/sensitivity.csv; response curves (DIR/response.csv) and "
                    "figures in DIR/figures/.")
    p.add_argument("out", metavar="DIR", help="sweep folder (cisim sweep --out)")
    p.add_argument("--outputs", default=None, metavar="A,B",
                   help="declared outputs to analyse (default: the config's outputs)")
    p.add_argument("--heatmap", default=None, metavar="P1,P2",
                   help="two varied parameters for the heat map (default: from the config)")
    p.add_argument("--bins", type=integer(2, 1000), default=None, metavar="N",
                   help="bins per parameter for curves and heat maps of sampled designs")
    p.add_argument("--no-figures", action="store_true", help="write tables only")
    p.set_defaults(func=cmd_analyze)


def _names(text: str | None, option: str) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise UsageError(f"{option}: got {text!r}; allowed: comma-separated names")
    return names


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse, print the indices and the files written; exit 1 when outputs were skipped."""
    from experiments.reports.sweep import write_figures
    from experiments.sweep.analysis import analyze

    outputs = _names(args.outputs, "--outputs")
    result = analyze(args.out, outputs, heatmap=_names(args.heatmap, "--heatmap"),
                     bins=args.bins)
    if not args.no_figures:
        manifest = read_manifest(args.out) or {}
        result.files += write_figures(result, f"{args.out}/figures", manifest["sweep"],
                                      outputs)
    if not result.indices.empty:
        shown = result.indices.copy()
        shown["parameter"] = shown["parameter"] + shown["parameter_2"].map(
            lambda p: f" x {p}" if isinstance(p, str) else "")
        print(shown.drop(columns="parameter_2").to_string(index=False, float_format="%.4f"))
    for path in result.files:
        print(f"wrote {path}")
    for problem in result.skipped:
        print(f"cisim: warning: skipped {problem}", file=sys.stderr)
    return 1 if result.skipped else 0
