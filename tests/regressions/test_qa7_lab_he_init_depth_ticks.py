"""Regression: the he-init figure's "depth L" axis (forward signal at init, measured at depths 10, 20 and 30) was
ticked at 10.0, 12.5, 15.0, ... (matplotlib's default): there is no depth 12.5. Its ticks are now the depths
measured."""
import numpy as np

from graddoctor.lab import figures
from graddoctor.lab.experiments import he_init


def test_depth_axis_ticks_are_the_measured_depths(tmp_path, monkeypatch) -> None:
    saved = []
    monkeypatch.setattr(figures, "save", lambda fig, out, name, written: saved.append(fig))
    signal = {init: [np.array([-(d - 1.0)]) for d in he_init.SIGNAL_DEPTHS] for init in ("xavier", "he")}
    runs = {"he+sgd": [{"loss": list(np.linspace(2.3, 1.0, 40))}]}
    he_init.plot(signal, runs, tmp_path, [])
    assert list(saved[0].axes[0].get_xticks()) == list(he_init.SIGNAL_DEPTHS)
