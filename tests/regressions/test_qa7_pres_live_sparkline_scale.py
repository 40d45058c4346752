"""Regression: the live view's sparklines share one log scale from the smallest backward signal in the window
to the largest. For a healthy two-layer LSTM (0.19 and 0.29, a fifth of a decade apart) the input-side layer was
drawn all ▁ beside the output layer's █, which is what a vanishing gradient looks like in the view. The scale
now spans at least MIN_SPARK_DECADES (2) below the largest value; a real vanishing gradient still spans the
eight levels."""
import io

import numpy as np
from rich.console import Console

from graddoctor.present.live import layer_panel
from graddoctor.store.run_data import LAYER_STATS, STEP_STATS, LayerInfo, RunData


def _panel(signal: np.ndarray) -> list[str]:
    n_layers, n_steps = signal.shape
    stats = {k: np.full((n_layers, n_steps), np.nan) for k in LAYER_STATS}
    stats["signal_norm"] = signal
    data = RunData(layers=[LayerInfo(index=i, name=f"l{i}", type="Linear", order=i) for i in range(n_layers)],
                   steps=np.arange(n_steps), layer_stats=stats,
                   step_stats={k: np.zeros(n_steps) for k in STEP_STATS})
    out = io.StringIO()
    Console(file=out, width=100).print(layer_panel(data, width=100))
    return [line for line in out.getvalue().splitlines() if line.strip().startswith(tuple("0123456789"))]


def test_close_values_are_not_drawn_as_a_vanishing_gradient():
    rows = _panel(np.array([[0.19] * 10, [0.29] * 10]))
    assert "▁" not in rows[0] and "▇" in rows[0], rows
    assert "█" in rows[1], rows


def test_a_vanishing_gradient_still_spans_the_levels():
    rows = _panel(np.array([[1e-8] * 10, [1e-4] * 10, [1.0] * 10]))
    assert "▁" in rows[0] and "█" in rows[2], rows
