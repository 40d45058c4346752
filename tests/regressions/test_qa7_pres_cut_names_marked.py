"""Regression: the legends of the figures over steps and the titles of the activation panels cut long layer
names to their last 24 or 22 characters with no sign of it ("0.layers.0.self_attn.out_proj" became
"s.0.self_attn.out_proj", read as a name of its own). A cut name now starts with "…", as on the layer axes."""
import matplotlib.pyplot as plt
import numpy as np

from graddoctor.present import plots
from graddoctor.store.run_data import LAYER_STATS, STEP_STATS, LayerInfo, RunData

LONG = "encoder.layers.0.self_attention.output_projection"


def _run() -> RunData:
    n, steps = 2, 4
    stats = {k: np.full((n, steps), np.nan) for k in LAYER_STATS}
    stats["update_ratio"][:] = 1e-3
    stats["act_mean"][:] = 0.5
    layers = [LayerInfo(index=0, name=LONG, type="Linear", order=0, activation="tanh"),
              LayerInfo(index=1, name="head", type="Linear", order=1)]
    return RunData(layers=layers, steps=np.arange(steps), layer_stats=stats,
                   step_stats={k: np.zeros(steps) for k in STEP_STATS})


def test_cut_names_start_with_an_ellipsis():
    fig = plots.update_speed(_run())
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("…") and LONG.endswith(legend[0][1:]), legend
    plt.close(fig)
    fig = plots.activations(_run())
    title = fig.axes[0].get_title()
    assert title.startswith("…") and "(tanh)" in title, title
    plt.close(fig)
