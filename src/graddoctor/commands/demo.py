"""``graddoctor demo``: the main job on built-in data (watch, diagnose, repair, report)."""
from __future__ import annotations

import os

import click


@click.command("demo")
@click.option("--steps", default=None, type=click.IntRange(min=10),
              help="SGD steps of the watched run and of each repair trial (default 600).")
@click.option("--seeds", default=2, show_default=True, type=click.IntRange(min=1), help="Seeds per repair trial.")
@click.option("--budget", default=40.0, show_default=True, type=click.FloatRange(min=0),
              help="Time budget of the repair trials, in seconds.")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the run store (demo.sqlite) and the HTML report.")
@click.option("--no-repair", is_flag=True, help="Stop after the diagnosis.")
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
def command(steps: int | None, seeds: int, budget: float, out: str, no_repair: bool, no_report: bool) -> None:
    """Train a deep sigmoid MLP on real digits (Nielsen, ch. 5) under graddoctor.watch(), show each
    layer's speed of learning, diagnose the vanishing gradient, prove a repair in controlled trials and
    write the HTML report. Every number printed is measured in this run."""
    from pathlib import Path

    import torch

    from ..demo import STEPS, run_demo
    from ..errors import StoreError
    from ..store.sqlite import never_a_store

    out = os.path.expanduser(out)  # "--out=~/x" reaches us unexpanded: no folder named "~" in the current one
    try:  # before the data is loaded: a folder that cannot be made was a FileNotFoundError traceback
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise click.UsageError(f"cannot create the output folder {out!r}: {e.strerror or e}; "
                               "choose another --out") from None
    store = Path(out) / "demo.sqlite"
    if store.is_dir() or (store.exists() and never_a_store(store)):  # checked before minutes of training
        raise click.UsageError(f"{str(store)!r} is {'a folder' if store.is_dir() else 'not a graddoctor run store'}"
                               "; the demo writes its run store there and replaces only its own: choose another "
                               "--out")
    torch.set_num_threads(1)  # tiny matrices: one thread is as fast and does not fight other work
    try:
        run_demo(steps=steps or STEPS, seeds=seeds, budget_s=budget, out_dir=out, do_repair=not no_repair,
                 report=not no_report)
    except StoreError as e:  # OUT/demo.sqlite is a folder or another program's file: replaced only if ours
        raise click.UsageError(f"the demo writes its run store to {str(Path(out) / 'demo.sqlite')!r}, and "
                               f"cannot: {e}. Choose another --out") from None
