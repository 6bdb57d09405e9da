"""What every report shares: number formats, Markdown tables, figures saved, HTML pages.

Figures are drawn on ``matplotlib.figure.Figure`` objects (no pyplot, no backend
switch), so importing a report leaves a notebook's plotting alone.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

import markdown
import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.io import atomic_path


@dataclass(frozen=True)
class FigureNote:
    """One figure of a report: file name, title and caption."""

    name: str
    title: str
    caption: str


def save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` as a PNG atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def colours(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """One colour of matplotlib's cycle per name, in order."""
    cycle = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    return {s: cycle[i % len(cycle)] for i, s in enumerate(names)}


def num(x: float, digits: int = 1) -> str:
    """``x`` with thousands separators, or n/a."""
    return "n/a" if x is None or not np.isfinite(x) else f"{x:,.{digits}f}"


def ci(mean: float, lo: float, hi: float, digits: int = 1, signed: bool = False) -> str:
    """A mean with its interval in brackets."""
    sign = "+" if signed else ""
    if not np.isfinite(mean):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{mean:{sign},.{digits}f}"
    return f"{mean:{sign},.{digits}f} [{lo:,.{digits}f} to {hi:,.{digits}f}]"


def pct(x: float) -> str:
    """A share as a whole percentage."""
    return "n/a" if not np.isfinite(x) else f"{100 * x:.0f}%"


def millions(x: float) -> str:
    """Money in millions."""
    return f"{x / 1e6:,.1f} million"


def table(df: pd.DataFrame) -> str:
    """A Markdown pipe table of ``df`` (strings as they are, index dropped)."""
    cells = df.map(lambda v: "" if pd.isna(v) else str(v).replace("|", "\\|"))
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
img { max-width: 100%; height: auto; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def markdown_to_html(text: str, figure_dir: Path, title: str) -> str:
    """Render the report's Markdown to one self-contained HTML page (figures inlined)."""
    body = markdown.markdown(text, extensions=["tables"])

    def inline(match: re.Match) -> str:
        data = (figure_dir / match.group(1)).read_bytes()
        return f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}"'

    body = re.sub(r'src="figures/([^"]+\.png)"', inline, body)
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")
