"""Regression: in ``graddoctor live`` a layer whose backward signal was exactly 0 at every step (dead ReLU units)
drew a blank sparkline, the same as a statistic that was not recorded; and a run watched with signal off
(``activations=False``) showed blank sparklines with no word why. Zeros are now drawn as ``0`` and the panel says
when the signal was not recorded."""
import numpy as np
from rich.console import Console

from graddoctor.present import live
from graddoctor.present.live import layer_panel
from graddoctor.store.run_data import LAYER_STATS, LayerInfo, RunData


def _data(signal: np.ndarray, settings: dict) -> RunData:
    n_layers, n_steps = signal.shape
    stats = {k: np.full((n_layers, n_steps), np.nan, dtype=np.float32) for k in LAYER_STATS}
    stats["signal_norm"] = signal.astype(np.float32)
    layers = [LayerInfo(index=i, name=f"l{i}", type="Linear", activation="relu", order=i) for i in range(n_layers)]
    return RunData(layers=layers, steps=np.arange(n_steps), layer_stats=stats,
                   step_stats={"loss": np.ones(n_steps), "wall_time": np.arange(n_steps) * 1.0},
                   meta={"status": "running", "settings": settings})


def _text(table) -> str:
    console = Console(width=100, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_zero_signal_is_drawn_not_blank():
    signal = np.array([[0.0] * 8, [1e-3] * 8, [1e-1] * 8])
    out = _text(layer_panel(_data(signal, {"signal": True}), width=100))
    row0 = next(line for line in out.splitlines() if line.strip().startswith("0 "))
    assert getattr(live, "SPARK_ZERO", "0") * 8 in row0


def test_signal_off_says_so():
    out = _text(layer_panel(_data(np.full((2, 5), np.nan), {"signal": False, "activations": False}), width=100))
    assert "not recorded" in out and "signal=True" in out
