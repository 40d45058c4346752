"""Regression: the step axes of the heatmap (half the figure's width, beside a colour bar) and of the activation
panels (a quarter of it) asked for 10 ticks whatever their length, so a 3,000-step run printed
"0 300 600 900 1200150018002100..." with the labels running into each other. The step axes now take as many
ticks as fit."""
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from tests.present.present_fixtures import write_store

from graddoctor.present import plots
from graddoctor.present.sampling import load_for_display


def _touching_labels(fig) -> list[tuple[str, str]]:  # noqa: ANN001
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    touching = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        labels = sorted(((t.get_window_extent(renderer), t.get_text()) for t in ax.get_xticklabels()
                         if t.get_text() and t.get_visible()), key=lambda b: b[0].x0)
        touching += [(a, b) for (ba, a), (bb, b) in zip(labels, labels[1:]) if ba.x1 + 2 > bb.x0]
    return touching


def test_step_tick_labels_do_not_run_into_each_other(tmp_path):
    path = write_store(tmp_path / "long.sqlite", n_steps=3000, chunk=1000, n_layers=8,
                       meta={"settings": {"detail_every": 10}})
    view, sampling = load_for_display(path, 100)
    for name, fig in (("heatmap", plots.heatmap(view)), ("activations", plots.activations(view)),
                      ("update_speed", plots.update_speed(view)), ("loss", plots.loss_curves(view, sampling))):
        assert _touching_labels(fig) == [], name
        plt.close(fig)
