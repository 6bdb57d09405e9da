"""The run store: append-only Parquet parts of one fixed schema, resumable, never rewritten.

Finished runs go to ``DIR/runs/part-<n>.parquet`` and, when the study keeps time
series, their months to ``DIR/timeseries/part-<n>.parquet`` (same ``n``; the
time-series part is written first). Each part is written to a temporary file
and renamed into place, so a killed process leaves only whole parts; a
time-series part whose runs part never arrived is removed when the store is
opened again, and its runs are redone.

Parts are never rewritten or deleted: a failed run that is retried gets a new
row in a new part, and reading keeps, for each run, its successful row if it has
one and otherwise its latest failure. So retrying can never lose a finished run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from experiments.engine.schema import StudySchema
from experiments.errors import UsageError
from experiments.io import atomic_path

RUNS_DIR = "runs"
SERIES_DIR = "timeseries"
_PART = re.compile(r"^part-(\d{6})\.parquet$")

#: pandas dtypes of Arrow types when tables are read: nullable ints and bools stay
#: ints and bools whether or not a column holds nulls.
_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas, with the same dtypes whatever the values."""
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get)


class RunStore:
    """The parts of one study folder.

    Args:
        folder: the study folder (``runs/`` and ``timeseries/`` live under it).
        schema: the study's schema; parts of another schema are refused on reading.
    """

    def __init__(self, folder: str | Path, schema: StudySchema) -> None:
        self.folder = Path(folder)
        self.schema = schema
        self.runs_dir = self.folder / RUNS_DIR
        self.series_dir = self.folder / SERIES_DIR

    # --- writing ---------------------------------------------------------------------------
    def append(self, rows: list[dict], series: list[pd.DataFrame] | None = None) -> int:
        """Write finished runs (and their time series) as one new part; return its number."""
        if not rows:
            return -1
        table = self.schema.runs_table(rows)
        number = self._next_number()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        if self.schema.series is not None:
            self.series_dir.mkdir(parents=True, exist_ok=True)
            _write(self.schema.series_table(series or []), self.series_dir / _name(number))
        _write(table, self.runs_dir / _name(number))
        return number

    def _next_number(self) -> int:
        numbers = [n for folder in (self.runs_dir, self.series_dir) for n in _numbers(folder)]
        return max(numbers, default=0) + 1

    def remove_orphans(self) -> int:
        """Delete time-series parts whose runs part is missing (a kill between the two)."""
        runs = set(_numbers(self.runs_dir))
        orphans = [n for n in _numbers(self.series_dir) if n not in runs]
        for n in orphans:
            (self.series_dir / _name(n)).unlink(missing_ok=True)
        return len(orphans)

    # --- reading ---------------------------------------------------------------------------
    def parts(self) -> list[Path]:
        """Runs parts in the order they were written."""
        return [self.runs_dir / _name(n) for n in sorted(_numbers(self.runs_dir))]

    def _read(self, path: Path, columns: list[str] | None = None) -> pa.Table:
        try:
            table = pq.read_table(path, columns=columns)
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            raise UsageError(f"result part {str(path)!r} is damaged ({exc}); move it out of "
                             "the folder and run the same command again to redo its runs"
                             ) from None
        expected = self.schema.runs if path.parent == self.runs_dir else self.schema.series
        if columns is None and expected is not None and not table.schema.equals(expected):
            raise UsageError(f"result part {str(path)!r} has other columns than this version "
                             "of cisim writes; use a new folder")
        return table

    def status(self) -> tuple[set[int], set[int]]:
        """(run ids that succeeded, run ids whose latest attempt failed)."""
        ok: set[int] = set()
        failed: set[int] = set()
        for path in self.parts():
            t = self._read(path, ["run_id", "error"]).to_pydict()
            for run_id, error in zip(t["run_id"], t["error"], strict=True):
                if error is None:
                    ok.add(run_id)
                    failed.discard(run_id)
                elif run_id not in ok:
                    failed.add(run_id)
        return ok, failed

    def code_versions(self) -> set[str | None]:
        """Code versions of every row in the parts."""
        versions: set[str | None] = set()
        for path in self.parts():
            versions |= set(self._read(path, ["code_version"]).column(0).to_pylist())
        return versions

    def runs(self) -> pd.DataFrame:
        """One row per run (its success, else its latest failure), sorted by run id."""
        paths = self.parts()
        if not paths:
            return to_pandas(self.schema.runs.empty_table())
        tables = [self._read(p) for p in paths]
        frame = to_pandas(pa.concat_tables(tables))
        frame["_order"] = range(len(frame))
        frame["_ok"] = frame["error"].isna()
        frame = frame.sort_values(["run_id", "_ok", "_order"], kind="stable")
        frame = frame.drop_duplicates("run_id", keep="last")
        return frame.drop(columns=["_order", "_ok"]).reset_index(drop=True)

    def series(self, run_ids: pd.Series | None = None) -> pd.DataFrame:
        """Time series of successful runs (each once), sorted by run and month."""
        if self.schema.series is None:
            raise ValueError("this study keeps no time series")
        numbers = sorted(set(_numbers(self.series_dir)) & set(_numbers(self.runs_dir)))
        if not numbers:
            return to_pandas(self.schema.series.empty_table())
        tables = [self._read(self.series_dir / _name(n)) for n in numbers]
        frame = to_pandas(pa.concat_tables(tables))
        if run_ids is not None:
            frame = frame[frame["run_id"].isin(set(run_ids))]
        # A run succeeds once (only failures are retried), so runs never repeat here.
        return frame.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)

    def dataset(self) -> ds.Dataset:
        """The runs parts as one pyarrow dataset (every row, retries included)."""
        return ds.dataset([str(p) for p in self.parts()], schema=self.schema.runs,
                          format="parquet")


def _name(number: int) -> str:
    return f"part-{number:06d}.parquet"


def _numbers(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return [int(m.group(1)) for p in folder.iterdir() if (m := _PART.match(p.name))]


def write_frame(frame: pd.DataFrame, schema: pa.Schema | None, path: str | Path) -> None:
    """Write a table read from a store back to one Parquet file of its schema, atomically."""
    if schema is None:
        raise ValueError("no schema to write with")
    table = pa.Table.from_pandas(frame.reindex(columns=schema.names), schema=schema,
                                 preserve_index=False)
    _write(table, Path(path))


def _write(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
