"""Regression: ``graddoctor live RUN | tee log`` started together with the training (before the writer's first
flush) printed its one full view with "no step recorded yet" and then status lines only, so the log never showed
a layer's backward signal. The full view (layers, sparklines, findings) is now printed once more when the first
steps arrive."""
import io

from rich.console import Console
from tests.present.present_fixtures import layer_rows, write_store

from graddoctor.present.live import LiveState, _plain_loop
from graddoctor.present.sampling import load_for_display
from graddoctor.store.sqlite import SQLiteStore


class _Reader:
    def __init__(self, paths):
        self.frames = [load_for_display(p, 60, tail=60) for p in paths]

    def read(self):
        data, sampling = self.frames.pop(0) if len(self.frames) > 1 else self.frames[0]
        return data, sampling.total_steps


def test_the_full_view_follows_the_first_steps(tmp_path):
    empty = tmp_path / "empty.sqlite"
    store = SQLiteStore(empty)
    store.begin({"status": "running", "model_class": "SyntheticNet", "settings": {"flush_every": 50}},
                layer_rows([f"layers.{i}" for i in range(6)]))
    store._con.close()
    running = write_store(tmp_path / "a.sqlite", n_steps=20, status="running")
    done = write_store(tmp_path / "b.sqlite", n_steps=40)
    out = io.StringIO()
    why = _plain_loop(_Reader([str(empty), str(running), str(done)]), LiveState(path=str(empty)),
                      Console(file=out, width=160), 0.01, False, 10, (60.0, False))
    text = out.getvalue()
    assert why == "finished"
    assert "no step recorded yet" in text
    after = text.split("no step recorded yet", 1)[1]
    assert "layers.0" in after and "20 steps recorded" in after, text  # the second full view, with its layers
    assert text.count("‖∂L/∂out‖ (log scale)") == 2, text  # and not a third time
    assert "step 39  ·  40 steps recorded" in after, text  # then status lines again
