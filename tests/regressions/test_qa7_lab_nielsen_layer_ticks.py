"""Regression: the nielsen figure's left panel (speed of learning per hidden layer at init) had its x axis
"hidden layer" ticked at 1.0, 1.5, 2.0, ..., 4.0 (matplotlib's default for 1..4): there is no hidden layer 1.5.
Its ticks are now the layers, 1 to 4."""
import numpy as np

from graddoctor.lab import figures
from graddoctor.lab.experiments import nielsen


def test_hidden_layer_axis_has_whole_ticks(tmp_path, monkeypatch) -> None:
    saved = []
    monkeypatch.setattr(figures, "save", lambda fig, out, name, written: saved.append(fig))
    rng = np.random.default_rng(0)
    init = {h: rng.uniform(0.01, 0.3, size=(10, h)) for h in (2, 3, 4)}
    curves = {4: rng.uniform(1e-4, 0.3, size=(1, 20, 4))}
    nielsen.plot(init, curves, tmp_path, [])
    ticks = list(saved[0].axes[0].get_xticks())
    assert ticks == [1, 2, 3, 4], ticks
