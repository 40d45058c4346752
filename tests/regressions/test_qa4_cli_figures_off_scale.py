"""Regression: values a log axis cannot draw vanished from the report's figures. A layer whose backward signal
or relative gradient was exactly 0 (dead ReLU units) drew no bar and no line, and a white heatmap row, exactly
like a statistic that was never recorded; a run trained with lr=0 drew an empty learning-speed figure; a loss
that went below zero (a Gaussian NLL) lost those points on its log axis; a run whose loss and gradients were
NaN from step 0 said "No loss or total gradient norm was recorded". Zeros are now marked on the bottom edge
(and +Inf on the top edge), the heatmap draws them in a colour outside its scale, a curve with negative values
keeps a linear axis, and an all-non-finite run draws its red non-finite marks."""
import numpy as np

from graddoctor.present import plots
from graddoctor.present.repair_view import repair_curves
from graddoctor.store.run_data import LAYER_STATS, LayerInfo, RunData


def _data(n_layers=3, n_steps=6, **over):
    steps = np.arange(n_steps)
    stats = {k: np.full((n_layers, n_steps), np.nan, dtype=np.float32) for k in LAYER_STATS}
    stats["signal_norm"] = np.tile(np.array([[0.0], [1e-3], [1e-1]], dtype=np.float32), n_steps)
    stats["grad_ratio"] = stats["signal_norm"].copy()
    stats["update_ratio"] = np.zeros((n_layers, n_steps), dtype=np.float32)
    stats.update(over)
    layers = [LayerInfo(index=i, name=f"l{i}", type="Linear", activation="relu", order=i) for i in range(n_layers)]
    return RunData(layers=layers, steps=steps, layer_stats=stats,
                   step_stats={"loss": np.linspace(3, 1, n_steps), "total_grad_norm": np.linspace(1, .1, n_steps),
                               "nonfinite_grads": np.zeros(n_steps), "wall_time": np.arange(n_steps) * 1.0},
                   meta={"loss_every_step": True})


def _labels(fig):
    return [line.get_label() for ax in fig.axes for line in ax.lines]


def test_zero_signal_is_marked_in_the_gradient_flow_and_the_heatmap():
    data = _data()
    assert plots.ZERO_LABEL in _labels(plots.gradient_flow(data))
    fig = plots.heatmap(data)
    im = fig.axes[0].images[0]
    row0 = np.asarray(im.get_array())[0]
    assert np.isfinite(row0).all() and (row0 < im.norm.vmin).all(), "a zero row must not be drawn as missing"
    assert "exactly 0" in fig.axes[0].get_title()


def test_lr0_learning_speed_marks_its_zero_updates():
    fig = plots.update_speed(_data())
    assert plots.ZERO_LABEL in _labels(fig)


def test_negative_loss_keeps_every_point():
    data = _data()
    data.step_stats["loss"] = np.linspace(100, -5, data.n_steps)
    ax = plots.loss_curves(data).axes[0]
    assert ax.get_yscale() == "linear"
    assert np.isfinite(ax.lines[0].get_ydata()).sum() == data.n_steps
    fig = repair_curves({"baseline": {"name": "baseline", "curves": {"loss": [list(np.linspace(100, -5, 20))]}}})
    assert fig is not None and fig.axes[0].get_yscale() == "linear"
    narrow = repair_curves({"baseline": {"name": "baseline", "curves": {"loss": [list(np.linspace(2.8, 1.6, 20))]}}})
    assert narrow.axes[0].get_yscale() == "linear", "a loss within one decade read '2.8 x 10^0' on a log axis"
    wide = repair_curves({"baseline": {"name": "baseline", "curves": {"loss": [list(np.geomspace(3, 1e-3, 20))]}}})
    assert wide.axes[0].get_yscale() == "log"


def test_nan_from_step_0_draws_the_nonfinite_marks():
    data = _data()
    n = data.n_steps
    data.step_stats.update(loss=np.full(n, np.nan), total_grad_norm=np.full(n, np.nan), nonfinite_grads=np.full(n, 4.0))
    fig = plots.loss_curves(data)
    assert fig is not None, "a run NaN from step 0 read as 'no loss was recorded'"
    assert any(t.get_text().startswith("no finite value") for ax in fig.axes for t in ax.texts)


def test_heatmap_step_axis_has_integer_ticks():
    """The heatmap of a statistic recorded at one step (a detail statistic of a short run) read 0.0, 0.2, ..., 1.0
    on its step axis, as if steps 0 to 1 had been recorded."""
    data = _data(n_steps=4)
    data.layer_stats["grad_ratio"][:, 1:] = np.nan  # recorded at step 0 only
    fig = plots.heatmap(data)
    fig.canvas.draw()
    maps = [ax for ax in fig.axes if ax.get_title()]  # the two heatmaps, not their colorbars
    for ax in maps:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and np.allclose(ticks, np.round(ticks)), (ax.get_title(), ticks)
    lo, hi = maps[1].get_xlim()
    assert lo < 0 < hi < 1, "one recorded column is centred on its step"


def test_check_and_repair_figures_mark_zeros():
    """The one-batch check's bar chart and the repair's before/after figure had the same blind spot."""
    rows = [{"name": "fc1", "signal": 0.0, "grad_ratio": 0.0}, {"name": "fc2", "signal": 0.1, "grad_ratio": 0.2}]
    assert plots.ZERO_LABEL in _labels(plots.check_layers(rows))
    data = _data()
    assert plots.ZERO_LABEL in _labels(plots.compare_flow(data, data))
