"""Regression: the live view in a terminal says "NaN/Inf gradients at 3 of the last 60 steps" in red on its
status line, but without a terminal (CI logs) the status lines printed after the first view said nothing of it:
"step 39 · 40 steps recorded · ... · status finished" for a run whose last steps were NaN, so until a diagnosis
line came the log read like a healthy run. The plain status lines now carry the same note."""
import io

from rich.console import Console
from tests.present.present_fixtures import write_store

from graddoctor.present.live import LiveState, _plain_loop
from graddoctor.present.sampling import load_for_display


class _Reader:
    def __init__(self, paths):
        self.frames = [load_for_display(p, 60, tail=60) for p in paths]

    def read(self):
        data, sampling = self.frames.pop(0) if len(self.frames) > 1 else self.frames[0]
        return data, sampling.total_steps


def test_plain_status_line_says_nan(tmp_path):
    first = str(write_store(tmp_path / "a.sqlite", n_steps=20, status="running"))
    later = str(write_store(tmp_path / "b.sqlite", n_steps=40, nonfinite_steps=(37, 38, 39)))
    out = io.StringIO()
    why = _plain_loop(_Reader([first, later]), LiveState(path=first), Console(file=out, width=200), 0.01,
                      False, 5, (60.0, False))
    assert why == "finished"
    line = next(x for x in out.getvalue().splitlines() if x.startswith("step 39"))
    assert "NaN/Inf gradients at 3 of the last 40 steps" in line, line
