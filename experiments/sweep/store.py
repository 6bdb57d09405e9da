"""Result parts on disk: ``DIR/runs/part-<first run>-<count>.parquet``, written atomically.

A part holds finished runs (one row each, successful or failed). Parts are
written with ``experiments.io.write_parquet`` (a temporary file renamed into
place), so a killed sweep leaves only whole parts; temporary files it leaves
behind are removed when the sweep resumes. Loading concatenates the parts,
keeps each run once and sorts by run id, so the table does not depend on how
the runs were split into parts.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.errors import UsageError
from experiments.io import write_parquet

RUNS_DIR = "runs"
DESIGN_FILE = "design.parquet"
META_COLUMNS: tuple[str, ...] = ("run_id", "sample", "replication")
PROVENANCE_COLUMNS: tuple[str, ...] = ("key", "code_version", "error")
TIMING_COLUMNS: tuple[str, ...] = ("elapsed_s",)


def runs_dir(out: Path) -> Path:
    """The folder of result parts of sweep folder ``out``."""
    return Path(out) / RUNS_DIR


def part_paths(out: Path) -> list[Path]:
    """Finished parts, in name order."""
    folder = runs_dir(out)
    return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []


def remove_stale_temporaries(out: Path) -> int:
    """Delete temporary files a killed sweep left in ``runs/``; return how many."""
    folder = runs_dir(out)
    stale = list(folder.glob(".part-*.tmp")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def write_part(out: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write finished runs as one part, atomically; return its path."""
    ids = [int(r["run_id"]) for r in rows]
    path = runs_dir(out) / f"part-{min(ids):08d}-{len(ids):05d}.parquet"
    write_parquet(pd.DataFrame(list(rows)), path)
    return path


def read_part(path: Path) -> pd.DataFrame:
    """One part; UsageError naming it when it is not a readable Parquet file."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise UsageError(f"result part {str(path)!r} is damaged ({exc}); move it out of the "
                         "folder and run the same sweep command again to redo its runs") from None


def read_parts(out: Path) -> pd.DataFrame:
    """All parts concatenated as written (not yet normalised); empty when there are none."""
    frames = [read_part(p) for p in part_paths(out)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in ("run_id",)})
    return pd.concat(frames, ignore_index=True, sort=False)


def drop_failed(out: Path) -> int:
    """Rewrite the parts without their failed runs (so they run again); return how many."""
    dropped = 0
    for path in part_paths(out):
        part = read_part(path)
        failed = part["error"].notna()
        if failed.any():
            dropped += int(failed.sum())
            if failed.all():
                path.unlink()
            else:
                write_parquet(part.loc[~failed].reset_index(drop=True), path)
    return dropped


def normalise(table: pd.DataFrame, parameters: Sequence[str], *,
              timing: bool = False) -> pd.DataFrame:
    """Each run once, sorted by run id, columns in a fixed order and with fixed types.

    Columns: ``run_id``, ``sample``, ``replication``, the varied parameters, ``key``,
    ``code_version``, ``error`` (None when the run succeeded), then the outputs as
    float64 (booleans as 0/1, missing values as NaN), then ``elapsed_s`` when
    ``timing`` is true.
    """
    if table.empty or "key" not in table:
        return table.iloc[0:0]
    dupes = table["run_id"].duplicated()
    if dupes.any():
        warnings.warn(f"{int(dupes.sum())} runs appear twice in the parts; keeping the first",
                      stacklevel=2)
        table = table.loc[~dupes]
    table = table.sort_values("run_id", kind="stable").reset_index(drop=True)
    fixed = [*META_COLUMNS, *parameters, *PROVENANCE_COLUMNS]
    outputs = [c for c in table.columns if c not in fixed and c not in TIMING_COLUMNS]
    columns = fixed + outputs + (list(TIMING_COLUMNS) if timing else [])
    table = table.reindex(columns=columns)
    for col in META_COLUMNS:
        table[col] = table[col].astype(np.int64)
    for col in ("key", "code_version"):
        table[col] = table[col].astype(object)
    table["error"] = table["error"].astype(object).where(table["error"].notna(), None)
    for col in outputs:
        converted = pd.to_numeric(table[col], errors="coerce")
        if converted.notna().sum() == table[col].notna().sum():
            table[col] = converted.astype(np.float64)
    return table
