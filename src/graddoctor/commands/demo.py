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
    import torch

    from ..demo import STEPS, run_demo

    out = os.path.expanduser(out)  # "--out=~/x" reaches us unexpanded: no folder named "~" in the current one
    torch.set_num_threads(1)  # tiny matrices: one thread is as fast and does not fight other work
    run_demo(steps=steps or STEPS, seeds=seeds, budget_s=budget, out_dir=out, do_repair=not no_repair,
             report=not no_report)
