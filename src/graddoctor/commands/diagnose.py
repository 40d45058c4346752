"""``graddoctor diagnose RUN.sqlite [--json]``."""
from __future__ import annotations

import json
import os
import sys

import click


@click.command("diagnose", help="""Diagnose a recorded run from its store (the .sqlite file gd.watch wrote).

The findings are written back into the store (source "diagnose"; gd.load_run(path).findings returns them)
unless --no-save is given. They replace the previous diagnosis in what readers show (report --no-diagnose,
live); earlier diagnoses stay in the store as history.

Exit code: 0 healthy, 1 problems found (a warning or critical finding), 2 bad usage (no run store at STORE,
or a store with no recorded steps yet: nothing to diagnose).""")
@click.argument("store")
@click.option("--json", "as_json", is_flag=True, help="Print exactly Diagnosis.to_dict() as JSON.")
@click.option("--no-save", is_flag=True, help="Do not write the findings back into the store.")
def command(store: str, as_json: bool, no_save: bool) -> None:
    from ..diagnosis import diagnose
    from ..errors import StoreError

    store = os.path.expanduser(store)  # a quoted "~/runs/x.sqlite" reaches us unexpanded
    try:
        diag = diagnose(store, save=not no_save)
    except StoreError as e:
        raise click.UsageError(str(e)) from None
    if not diag.meta.get("steps"):  # "healthy" would be a claim about steps that do not exist
        raise click.UsageError(f"run {store!r} has no recorded steps yet: nothing to diagnose; train a few steps "
                               "under gd.watch(store=...) first")
    if as_json:
        click.echo(json.dumps(diag.to_dict(), indent=2))
    else:
        from rich.text import Text

        from ..present.console import make_console, print_diagnosis

        # The present layer's view (docs/report.md): its tables fit the terminal (or COLUMNS) by leaving out
        # columns and saying so; check's fixed table squeezed every cell to "2…" in a narrow terminal.
        console = make_console()
        steps = diag.meta.get("steps") or []
        span = ("no steps" if not steps else f"step {steps[0]}" if steps[0] == steps[1] else
                f"steps {steps[0]}-{steps[1]}")
        console.print(Text(f"graddoctor diagnose {store} ({span}); per-layer table at the last step", style="bold"))
        print_diagnosis(diag, console)
    sys.exit(0 if diag.healthy else 1)
