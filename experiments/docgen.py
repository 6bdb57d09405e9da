"""Generate the reference tables in ``docs/`` from the declarations.

``python -m experiments.docgen`` rewrites ``docs/parameters.md`` and
``docs/outputs.md``; a test checks that the committed files are current, so the
documentation can never drift from the parameter table or the output list.
"""

from __future__ import annotations

from pathlib import Path

from model.metrics import OUTPUTS, SUMMARY_FIELDS
from model.parameters import PARAMETERS, domain_names

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def parameters_markdown() -> str:
    """The parameter reference as a Markdown document."""
    lines = [
        "# Parameters",
        "",
        "Generated from `model/parameters.py` by `python -m experiments.docgen`; do not edit.",
        "Every parameter can be set with `--set name=value` on the command line, as a",
        "keyword argument of `CollectiveImpactModel`, or in a sweep file.",
        "",
    ]
    for group, title in (("core", "World, money and practice"),
                         ("condition", "The five conditions of collective impact"),
                         ("community", "Communities: priors of their hidden traits"),
                         ("mechanism", "Behaviour and mechanism constants")):
        lines += [f"## {title}", "", "| name | default | unit | allowed | meaning |",
                  "|---|---|---|---|---|"]
        for p in PARAMETERS:
            if p.group == group:
                lines.append(f"| `{p.name}` | {_cell(p.default)} | {_cell(p.unit)} | "
                             f"{_cell(p.allowed)} | {_cell(p.description)} |")
        lines.append("")
    return "\n".join(lines)


def outputs_markdown() -> str:
    """The output reference (per-step columns and run summary) as a Markdown document."""
    lines = [
        "# Outputs",
        "",
        "Generated from `model/metrics.py` by `python -m experiments.docgen`; do not edit.",
        "",
        "## Per-step time series (`model.timeseries()`, `timeseries.parquet`)",
        "",
        "One row per month, from step 0 (the starting state) to `steps`.",
        "",
        "| column | unit | meaning |",
        "|---|---|---|",
        "| `step` | months | Month of the run (0 = start). |",
    ]
    lines += [f"| `{name}` | {_cell(unit)} | {_cell(meaning)} |"
              for name, (unit, meaning) in OUTPUTS.items()]
    names = ", ".join(f"`need_{d}`" for d in domain_names(8))
    lines += [f"| `need_<domain>` | need in [0, 1] | Mean need in each domain, one column per "
              f"domain ({names}; the first `n_domains`). |", "",
              "## Run summary (`model.summary()`, `summary.json`)", "",
              "| field | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {_cell(unit)} | {_cell(meaning)} |"
              for name, (unit, meaning) in SUMMARY_FIELDS.items()]
    return "\n".join(lines) + "\n"


GENERATED = {"parameters.md": parameters_markdown, "outputs.md": outputs_markdown}


def main() -> None:
    """Rewrite the generated documents."""
    DOCS.mkdir(exist_ok=True)
    for name, render in GENERATED.items():
        (DOCS / name).write_text(render())
        print(f"wrote docs/{name}")


if __name__ == "__main__":
    main()
