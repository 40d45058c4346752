"""Regression: the run report's heatmap spread its columns evenly from the first drawn step to the last
(``imshow`` with that extent), so each column sat up to a column off its step (in a 5-step run step 4's column
spanned 3.2-4.0 and step 0's 0.0-0.8), and past a gap of NaN/Inf steps, which the heatmap leaves out, the
columns of later steps were drawn at the positions of the NaN steps, under the cyan lines that mark them: a
run NaN at steps 3-9 that recovered showed step 10's values at step 6. Each column is now centred on its step,
and a gap wider than the usual spacing stays blank."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backend_bases import MouseEvent

from graddoctor.present import plots
from graddoctor.store.run_data import LAYER_STATS, STEP_STATS, LayerInfo, RunData

#: Steps whose gradients were NaN/Inf in the run with a gap (it recovered afterwards).
NAN_STEPS = range(3, 10)


def _run(n_steps: int, nan_steps=()) -> RunData:  # noqa: ANN001
    """Two layers; layer 0's backward signal is 10 ** -(step + 1), layer 1's 1; NaN at ``nan_steps``."""
    steps = np.arange(n_steps)
    sig = np.stack([10.0 ** -(steps + 1.0), np.ones(n_steps)])
    sig[:, list(nan_steps)] = np.nan
    nfg = np.zeros(n_steps)
    nfg[list(nan_steps)] = 2
    stats = {k: np.full((2, n_steps), np.nan) for k in LAYER_STATS}
    stats["signal_norm"] = sig
    step_stats = {k: np.zeros(n_steps) for k in STEP_STATS}
    step_stats.update(loss=np.ones(n_steps), total_grad_norm=np.ones(n_steps), nonfinite_grads=nfg)
    return RunData(layers=[LayerInfo(index=i, name=f"fc{i}", type="Linear", order=i) for i in range(2)],
                   steps=steps, layer_stats=stats, step_stats=step_stats)


def _value_at(fig, ax, step: float) -> float | None:  # noqa: ANN001
    """What the heatmap shows for layer 0 at ``step`` on its step axis (None or NaN: blank)."""
    fig.canvas.draw()
    px, py = ax.transData.transform((step, 0.0))
    value = ax.images[0].get_cursor_data(MouseEvent("motion_notify_event", fig.canvas, px, py))
    return None if value is None or np.ma.is_masked(value) else float(value)


def test_each_column_is_centred_on_its_step():
    fig = plots.heatmap(_run(5))
    ax = fig.axes[0]
    for step in range(5):
        for offset in (-0.4, 0.4):
            assert _value_at(fig, ax, step + offset) == -(step + 1.0), (step, offset)
    plt.close(fig)


def test_nan_gap_is_blank_and_later_steps_stay_in_place():
    fig = plots.heatmap(_run(14, NAN_STEPS))
    ax = fig.axes[0]
    for step in NAN_STEPS[1:-1]:
        value = _value_at(fig, ax, step)
        assert value is None or np.isnan(value), f"step {step} (NaN) shows {value}"
    for step in (0, 2, 10, 13):
        assert _value_at(fig, ax, step) == -(step + 1.0), step
    lo, hi = ax.get_xlim()
    assert -1 < lo <= -0.5 and 13.5 <= hi < 14, (lo, hi)
    plt.close(fig)
