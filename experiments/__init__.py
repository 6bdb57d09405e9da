"""Experiment tools: single runs, comparisons, sweeps and the ``cisim`` command line."""

from experiments.runner import run_one

__all__ = ["run_one"]
