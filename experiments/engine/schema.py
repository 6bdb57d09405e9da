"""The typed Arrow schema of result tables: every column declared once, with unit and meaning.

A study stores two tables as Parquet parts: *runs* (one row per run) and, for
model studies that keep them, *timeseries* (one row per run and month). Their
columns are fixed before the first run:

- run identity: ``run_id``, ``point``, ``replication``, ``seed`` (int64);
- for model studies, ``scenario`` and every declared parameter, typed by its
  kind (int64, float64 or string), then every declared summary output (bools as
  bool, counts as int64, the rest float64);
- for other evaluations, the varied inputs and the named outputs (float64);
- provenance: ``key``, ``code_version``, ``error`` (string, null when the run
  succeeded) and ``elapsed_s``.

Each field carries ``unit`` and ``meaning`` metadata, so a part read on its own
says what its numbers are; every part of a folder has the same schema, so the
folder reads as one dataset in pyarrow, pandas, DuckDB or polars.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from model.metrics import SERIES_OUTPUTS, SUMMARY_OUTPUTS, Output
from model.parameters import DOMAIN_NAMES, PARAMETERS

FORMAT = 2
"""Version of the on-disk layout; bumped when a table's columns change meaning."""

_KIND_TYPES = {"int": pa.int64(), "float": pa.float64(), "choice": pa.string(),
               "bool": pa.bool_(), "str": pa.string()}

IDENTITY: tuple[tuple[str, str, str], ...] = (
    ("run_id", "-", "Index of the run in the study's design (point x replications + replication)."),
    ("point", "-", "Index of the design point (scenario, parameter values) the run belongs to."),
    ("replication", "-", "Index of the replication within its design point."),
    ("seed", "-", "Seed the run used; replay it with cisim run --seed SEED."),
)
PROVENANCE: tuple[tuple[str, pa.DataType, str, str], ...] = (
    ("key", pa.string(), "-", "Digest of the evaluation, the run's inputs and its seed."),
    ("code_version", pa.string(), "-", "Digest of the model code that made the row."),
    ("error", pa.string(), "-", "Why the run failed ('Type: message'); null when it succeeded."),
    ("elapsed_s", pa.float64(), "s", "Wall time of the run on its worker."),
)


def output_kind(output: Output) -> str:
    """Storage kind of a declared output: ``bool``, ``int`` (counts, months) or ``float``."""
    if output.unit == "bool":
        return "bool"
    if output.unit in ("organisations", "policies", "months"):
        return "int"
    return "float"


def _field(name: str, kind_or_type: str | pa.DataType, unit: str, meaning: str) -> pa.Field:
    dtype = _KIND_TYPES[kind_or_type] if isinstance(kind_or_type, str) else kind_or_type
    return pa.field(name, dtype, nullable=True, metadata={"unit": unit, "meaning": meaning})


@dataclass(frozen=True)
class StudySchema:
    """The schemas of a study's two tables.

    Attributes:
        runs: one row per run.
        series: one row per run and month (None when the study keeps no time series).
        inputs: names of the input columns (parameters) in ``runs``.
        outputs: names of the output columns in ``runs``.
    """

    runs: pa.Schema
    series: pa.Schema | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def runs_table(self, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
        """Rows as an Arrow table of exactly this schema (missing values as nulls).

        Raises:
            pyarrow.ArrowInvalid or ArrowTypeError: a value cannot take its column's type.
        """
        columns = {f.name: [row.get(f.name) for row in rows] for f in self.runs}
        return pa.Table.from_pydict(columns, schema=self.runs)

    def series_table(self, frames: Iterable[pd.DataFrame]) -> pa.Table:
        """Time-series frames (one per run, with identity columns) as one table of the schema."""
        if self.series is None:
            raise ValueError("this study keeps no time series")
        parts = [f for f in frames if f is not None and len(f)]
        if not parts:
            return self.series.empty_table()
        frame = pd.concat(parts, ignore_index=True).reindex(columns=self.series.names)
        return pa.Table.from_pandas(frame, schema=self.series, preserve_index=False)

    def units(self) -> dict[str, str]:
        """Column -> unit of the runs table."""
        return {f.name: f.metadata[b"unit"].decode() for f in self.runs}


def _with_metadata(fields: list[pa.Field], table: str) -> pa.Schema:
    return pa.schema(fields, metadata={"table": table, "format": str(FORMAT)})


def model_schema(*, series: bool = True) -> StudySchema:
    """The schema of a study of model runs: every declared parameter and output."""
    fields = [_field(n, "int", u, m) for n, u, m in IDENTITY]
    fields.append(_field("scenario", "str", "-", "Named scenario the run started from."))
    inputs = ["scenario"]
    for p in PARAMETERS:
        if p.name == "seed":
            continue  # the run's seed is an identity column
        fields.append(_field(p.name, p.kind, p.unit, p.description))
        inputs.append(p.name)
    outputs = [o for o in SUMMARY_OUTPUTS.values() if o.name not in {f.name for f in fields}]
    fields += [_field(o.name, output_kind(o), o.unit, o.meaning) for o in outputs]
    fields += [_field(n, t, u, m) for n, t, u, m in PROVENANCE]
    series_schema = None
    if series:
        sfields = [_field(n, "int", u, m) for n, u, m in IDENTITY if n != "seed"]
        sfields.append(_field("scenario", "str", "-", "Named scenario the run started from."))
        sfields.append(_field("step", "int", "months", "Month of the run (0 is the start)."))
        sfields += [_field(o.name, output_kind(o), o.unit, o.meaning)
                    for o in SERIES_OUTPUTS.values()]
        sfields += [_field(f"need_{d}", "float", "need in [0, 1]",
                           f"Mean resident need in {d} (null when the domain is not modelled).")
                    for d in DOMAIN_NAMES]
        series_schema = _with_metadata(sfields, "timeseries")
    return StudySchema(_with_metadata(fields, "runs"), series_schema, tuple(inputs),
                       tuple(o.name for o in outputs))


def custom_schema(inputs: Sequence[tuple[str, str]], outputs: Sequence[str]) -> StudySchema:
    """The schema of a study of another evaluation function.

    Args:
        inputs: (name, kind) of each varied input; kind ``int``, ``float`` or ``choice``.
        outputs: names of the outputs the function returns (stored as float64).
    """
    fields = [_field(n, "int", u, m) for n, u, m in IDENTITY]
    fields += [_field(n, k, "-", "Input of the evaluation function.") for n, k in inputs]
    fields += [_field(o, "float", "-", "Output of the evaluation function.") for o in outputs]
    fields += [_field(n, t, u, m) for n, t, u, m in PROVENANCE]
    return StudySchema(_with_metadata(fields, "runs"), None, tuple(n for n, _ in inputs),
                       tuple(outputs))
