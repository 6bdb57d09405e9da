"""Errors the command line reports as one clean line (exit code 2)."""

from __future__ import annotations


class UsageError(ValueError):
    """Bad input from the user: a value, a file or a folder that cannot be used."""
