"""Regression: layer names on the figures' axes were cut to their last 18 characters without a mark, so the two
attention output projections of a two-layer transformer ("0.layers.0.self_attn.out_proj" and
"0.layers.1.self_attn.out_proj") were both labelled "self_attn.out_proj", and "0.layers.0.self_attn" read
"layers.0.self_attn", as if that were its name. A cut name now starts with "…", and labels that would appear
twice get the row number (# in the tables)."""
import matplotlib.pyplot as plt
import numpy as np

from graddoctor.present import plots
from graddoctor.store.run_data import LAYER_STATS, STEP_STATS, LayerInfo, RunData

NAMES = ["0.layers.0.self_attn", "0.layers.0.self_attn.out_proj", "0.layers.1.self_attn",
         "0.layers.1.self_attn.out_proj", "2"]


def _run() -> RunData:
    n, steps = len(NAMES), 3
    stats = {k: np.full((n, steps), np.nan) for k in LAYER_STATS}
    stats["signal_norm"] = np.full((n, steps), 0.1)
    return RunData(layers=[LayerInfo(index=i, name=x, type="Linear", order=i) for i, x in enumerate(NAMES)],
                   steps=np.arange(steps), layer_stats=stats, step_stats={k: np.zeros(steps) for k in STEP_STATS})


def test_layer_labels_are_distinct_and_show_a_cut():
    data = _run()
    for fig, axis in ((plots.gradient_flow(data), "x"), (plots.heatmap(data), "y")):
        ax = fig.axes[0]
        fig.canvas.draw()
        labels = [t.get_text() for t in (ax.get_xticklabels() if axis == "x" else ax.get_yticklabels())]
        assert len(set(labels)) == len(NAMES), labels
        assert labels[0] == "…ayers.0.self_attn" and labels[-1] == "2", labels
        assert labels[1].startswith("#1 ") and labels[3].startswith("#3 "), labels
        plt.close(fig)
