"""Subcommand modules of the ``cascade-monitor`` CLI (each: HELP, add_arguments, run)."""
