"""Figures: each draws what was recorded and returns None (never an empty figure) when nothing was."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure
from present_fixtures import REPAIR

from graddoctor.present import plots
from graddoctor.present.html import render_run_report
from graddoctor.present.repair_view import curves_of, repair_context, run_pair
from graddoctor.present.sampling import load_for_display
from graddoctor.store.sqlite import load_run

RUN_FIGS = ("gradient_flow", "heatmap", "update_speed", "activations", "saturation", "time_signal")


def test_each_figure_draws_recorded_data(make_store):
    data = load_run(make_store(recurrent=(0,), nonfinite_steps=(9,)))
    for name in RUN_FIGS:
        fig = getattr(plots, name)(data)
        assert isinstance(fig, Figure), name
    _, sampling = load_for_display(data)
    fig = plots.loss_curves(data, sampling)
    assert isinstance(fig, Figure)
    labels = [c.get_label() for ax in fig.axes for c in ax.collections]
    assert any("non-finite (1 steps)" in lab for lab in labels)


def test_figures_are_none_without_their_data(make_store):
    data = load_run(make_store(stats=("act_mean",), n_steps=5))
    assert plots.gradient_flow(data) is None and plots.heatmap(data) is None
    assert plots.update_speed(data) is None and plots.time_signal(data) is None
    assert plots.activations(data) is not None
    empty = load_run(make_store(name="empty.sqlite", n_steps=0))
    assert all(getattr(plots, n)(empty) is None for n in RUN_FIGS)


def test_log_masking_and_layer_picking():
    v = plots.positive([1.0, 0.0, -2.0, np.inf, np.nan, 3.0])
    assert np.isnan(v[[1, 2, 3, 4]]).all() and v[0] == 1.0 and v[5] == 3.0
    idx = plots.pick_layers(1000, 12)
    assert idx[0] == 0 and idx[-1] == 999 and len(idx) <= 12
    assert plots.wide_range([1e-3, 1.0]) and not plots.wide_range([0.69, 0.7])


def test_gradient_flow_draws_one_bar_per_layer_and_step(make_store):
    data = load_run(make_store(n_layers=5, n_steps=9))
    ax = plots.gradient_flow(data).axes[0]
    heights = sorted(p.get_height() for p in ax.patches)
    assert len(ax.patches) == 5 * 3
    np.testing.assert_allclose(heights[0], data.layer_stats["signal_norm"][0].min(), rtol=1e-6)


def test_repair_view_reads_the_result_dict_and_pairs_runs(make_store):
    ctx = repair_context(REPAIR)
    assert ctx["best"] == "use_relu_family" and [r["winner"] for r in ctx["rows"]] == [False, True, False]
    assert curves_of(REPAIR["best"])["val_loss"][0].tolist() == [2.3, 1.0, 0.3]
    assert isinstance(plots.compare_flow(load_run(make_store()), load_run(make_store(name="b.sqlite"))), Figure)
    data = load_run(make_store(name="c.sqlite"))
    result = SimpleNamespace(baseline=SimpleNamespace(data=data), best=SimpleNamespace(data=data),
                             to_dict=lambda: REPAIR)
    assert run_pair(result) == (data, data)
    assert run_pair(SimpleNamespace(baseline=SimpleNamespace(data=data), best=None)) is None


def test_a_repair_result_object_gets_the_before_after_figure(make_store, tmp_path):
    data = load_run(make_store())
    result = SimpleNamespace(baseline=SimpleNamespace(data=data), best=SimpleNamespace(data=data),
                             to_dict=lambda: REPAIR)
    png_dir = tmp_path / "figs"
    render_run_report(data, tmp_path / "r.html", repair=result, png_dir=png_dir)
    assert (png_dir / "repair_flow.png").exists() and (png_dir / "repair_curves.png").exists()


@pytest.mark.parametrize("bad", [{}, {"baseline": None}])
def test_repair_view_without_a_result(bad):
    assert repair_context(None) is None
    ctx = repair_context(bad)
    assert ctx is None or ctx["rows"] == []


def test_detail_step_statistics_are_drawn_and_tabled(make_store, tmp_path):
    """Regression: activation statistics exist on every 10th step only; lines through NaN drew nothing and
    the last-step table showed '-' for them."""
    data = load_run(make_store(n_steps=45, detail_every=10))
    ax = plots.activations(data).axes[0]
    assert len(ax.lines[0].get_xdata()) == 5  # steps 0, 10, 20, 30, 40
    line = plots.saturation(data).axes[0].lines[0]
    assert len(line.get_xdata()) == 5
    html = render_run_report(data, tmp_path / "r.html", figures=False).read_text()
    assert "from step 40 (the last step that recorded them)" in html
    assert "act mean" in html and "0.5" in html
