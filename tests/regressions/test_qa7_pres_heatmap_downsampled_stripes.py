"""Regression: the report's heatmap of a downsampled run (3,000 steps drawn as 100) had white vertical stripes,
which read as steps that recorded nothing. The displayed steps are evenly spaced only up to rounding (30 or
40 steps apart), and each column was as wide as the usual spacing, so a wider spacing left a blank between two
columns. In a downsampled view neighbouring columns now meet halfway unless a NaN/Inf step lies between them
(that gap stays blank, as before)."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backend_bases import MouseEvent
from tests.present.present_fixtures import write_store

from graddoctor.present import plots
from graddoctor.present.sampling import load_for_display


def _blank_steps(fig, ax, steps) -> list[int]:  # noqa: ANN001
    """The steps at which the heatmap shows nothing for the first layer."""
    fig.canvas.draw()
    blank = []
    for step in steps:
        px, py = ax.transData.transform((float(step), 0.0))
        value = ax.images[0].get_cursor_data(MouseEvent("motion_notify_event", fig.canvas, px, py))
        if value is None or np.ma.is_masked(value) or not np.isfinite(value):
            blank.append(int(step))
    return blank


def test_downsampled_heatmap_has_no_blank_columns(tmp_path):
    path = write_store(tmp_path / "long.sqlite", n_steps=3000, chunk=1000, stats=("signal_norm", "grad_ratio"),
                       meta={"settings": {"detail_every": 10}})
    view, sampling = load_for_display(path, 100)
    assert sampling.downsampled
    fig = plots.heatmap(view, sampling)
    for ax in fig.axes[:2]:  # the two panels (the colour bars come after them)
        assert _blank_steps(fig, ax, range(0, 3000, 3)) == [], ax.get_title()
    plt.close(fig)


def test_a_nan_gap_of_a_downsampled_run_stays_blank(tmp_path):
    nan = tuple(range(1500, 1560))
    path = write_store(tmp_path / "nan.sqlite", n_steps=3000, chunk=1000, stats=("signal_norm",),
                       nonfinite_steps=nan, meta={"settings": {"detail_every": 10}})
    view, sampling = load_for_display(path, 100)
    view.layer_stats["signal_norm"][:, np.isin(view.steps, nan)] = np.nan  # as the Monitor records them
    fig = plots.heatmap(view, sampling)
    blank = _blank_steps(fig, fig.axes[0], range(0, 3000, 3))
    assert blank and min(blank) >= 1460 and max(blank) <= 1600 and set(range(1503, 1543, 3)) <= set(blank), blank
    plt.close(fig)
