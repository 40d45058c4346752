"""CLI subcommands, one module each (see graddoctor.cli)."""
