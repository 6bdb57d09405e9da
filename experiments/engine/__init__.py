"""The one experiment engine every study runs on.

A study is a *design* (points x replications x a seed policy) plus an analysis.
The engine runs a design on one executor (joblib loky processes, or a Dask
cluster) and streams the finished runs into one store (append-only Parquet
parts of one typed schema) inside a folder the study's command owns (a manifest
with provenance, a lock, outputs replaced as a whole). Studies never plan,
seed, run or store runs their own way.

Modules, in dependency order: ``seeds``, ``limits``, ``provenance``, ``schema``,
``design``, ``store``, ``folder``, ``executor``, ``execute``.
"""

from experiments.engine.design import Design, RunSpec
from experiments.engine.execute import Execution, ModelEvaluation, evaluate_task, execute
from experiments.engine.executor import BACKENDS, DaskExecutor, LokyExecutor, make_executor
from experiments.engine.folder import MANIFEST, StudyFolder, check_folder, read_manifest
from experiments.engine.schema import StudySchema, custom_schema, model_schema
from experiments.engine.seeds import (
    DEFAULT_MASTER_SEED,
    SEED_MAX,
    SEED_POLICIES,
    analysis_seed,
    child_seed,
)
from experiments.engine.store import RunStore

__all__ = [
    "BACKENDS", "DEFAULT_MASTER_SEED", "MANIFEST", "SEED_MAX", "SEED_POLICIES", "DaskExecutor",
    "Design", "Execution", "LokyExecutor", "ModelEvaluation", "RunSpec", "RunStore",
    "StudyFolder", "StudySchema", "analysis_seed", "check_folder", "child_seed",
    "custom_schema", "evaluate_task", "execute", "make_executor", "model_schema",
    "read_manifest",
]
