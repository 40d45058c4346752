"""Regression: ``graddoctor live RUN | tee log`` (no terminal: CI logs) printed the findings of its first frame
only; afterwards it printed one status line per refresh and never diagnosed again, so a vanishing gradient that
appeared after the first frame was never in the log, not even when the run finished. New findings are now
printed as they appear, and the window is diagnosed once more when the run ends."""
import io

import numpy as np
from rich.console import Console
from tests.present.present_fixtures import layer_rows, write_store

from graddoctor.present.live import LiveState, _plain_loop
from graddoctor.present.sampling import load_for_display
from graddoctor.store.base import Batch
from graddoctor.store.sqlite import SQLiteStore


def _healthy(path):
    s = SQLiteStore(path)
    s.begin({"status": "running", "model_class": "Net"}, layer_rows([f"layers.{i}" for i in range(6)]))
    n = 20
    s.write(Batch(steps=np.arange(n), wall_time=np.arange(n) * 0.1,
                  layer_stats={"signal_norm": np.full((n, 6), 0.1), "weight_grad_norm": np.full((n, 6), 0.1),
                               "weight_norm": np.full((n, 6), 1.0), "grad_ratio": np.full((n, 6), 0.1),
                               "update_ratio": np.full((n, 6), 1e-3)},
                  step_stats={"loss": np.linspace(2, 1, n)}))
    s._con.close()
    return str(path)


class _Reader:
    def __init__(self, paths):
        self.frames = [load_for_display(p, 60, tail=60) for p in paths]

    def read(self):
        data, sampling = self.frames.pop(0) if len(self.frames) > 1 else self.frames[0]
        return data, sampling.total_steps


def test_findings_after_the_first_frame_reach_the_log(tmp_path):
    first = _healthy(tmp_path / "a.sqlite")
    later = str(write_store(tmp_path / "b.sqlite", n_layers=6, n_steps=40))  # vanishing, status finished
    out = io.StringIO()
    why = _plain_loop(_Reader([first, later]), LiveState(path=first), Console(file=out, width=160), 0.01,
                      False, 5, (60.0, False))
    text = out.getvalue()
    assert why == "finished"
    assert "finding: CRITICAL vanishing_gradient" in text, text
