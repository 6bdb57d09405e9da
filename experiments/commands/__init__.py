"""Subcommands of ``cisim``, one module each."""
