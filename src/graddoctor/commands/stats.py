"""``graddoctor stats RUN.sqlite [--step N]``: the per-layer statistics table of a recorded run."""
from __future__ import annotations

import json

import click

from ..present.sampling import INT64_MAX, MAX_DISPLAY_STEPS


@click.command("stats")
@click.argument("run", type=click.Path(dir_okay=False))
@click.option("--step", default=None, type=int, help="A recorded step (default: the last one).")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def command(run: str, step: int | None, as_json: bool) -> None:
    """Print each layer's statistics (backward signal, gradient and update ratios, activations) at one step.

    Exit code: 0 printed, 2 bad usage (no run store at RUN, no recorded steps, a --step that was not recorded).
    """
    import os

    import numpy as np

    from ..errors import GradDoctorError
    from ..present.console import make_console, print_layer_table
    from ..present.sampling import latest_values, load_for_display

    run = os.path.expanduser(run)  # "--opt=~/x" and quoted paths reach us unexpanded
    try:
        data, sampling = load_for_display(run, MAX_DISPLAY_STEPS, include=[step] if step is not None else None)
    except GradDoctorError as e:
        raise click.UsageError(str(e)) from None
    if not data.n_steps:
        raise click.UsageError(f"run {run!r} has no recorded steps yet; train a few steps under gd.watch()")
    if step is not None and step not in set(data.steps.tolist()):
        # the recorded steps on either side (a run recorded with every=3 has 6 and 9 around 7, not "e.g. 9")
        every = sampling.curve_steps if sampling.curve_steps.size else data.steps  # all recorded, not the shown
        pos = int(np.searchsorted(every, min(max(step, -INT64_MAX), INT64_MAX)))  # numpy overflows past int64
        near = sorted({int(every[p]) for p in (pos - 1, pos) if 0 <= p < every.size})
        raise click.BadParameter(f"step {step} was not recorded; recorded steps run from {int(data.steps[0])} to "
                                 f"{int(data.steps[-1])} (nearest: {' and '.join(map(str, near))})",
                                 param_hint="--step")
    shown = int(data.steps[-1]) if step is None else step
    if as_json:
        # Without --step, a statistic taken on detail steps only is read at the last step that recorded it
        # (as the table does); "from_step" names that step for each statistic.
        values, came_from = latest_values(data, list(data.layer_stats), step)
        # NaN (not measured, or a NaN value) is null; +-Inf is "inf"/"-inf", as in Diagnosis.to_dict() (diagnose
        # --json) and as the table prints it: null made an overflow read as a statistic that was not recorded
        rows = [{"layer": layer.name, "type": layer.type, "activation": layer.activation,
                 **{k: (None if np.isnan(v[i]) else ("inf" if v[i] > 0 else "-inf") if np.isinf(v[i])
                        else float(v[i])) for k, v in values.items()}}
                for i, layer in enumerate(data.layers)]
        click.echo(json.dumps({"step": shown, "layers": rows, "from_step": came_from}))
        return
    console = make_console()
    print_layer_table(data, step, console=console, title=f"{run}: per-layer statistics at step {shown}")
