"""Regression: ``graddoctor live RUN | tee log`` (no terminal) printed a ``finding:`` line for every finding whose
line it had not printed yet, and the line holds the step the finding was first seen at. A diagnosis of the
window dates a finding that lasts the whole run to the first step of its window, so the same vanishing gradient
came back every few seconds as the window moved ("from step 150", "from step 2070", "from step 3770", ...). A
finding is now new to the log only by its severity, kind and place."""
import io

from rich.console import Console
from tests.present.present_fixtures import VANISHING, write_store

from graddoctor.present.live import LiveState, _plain_loop
from graddoctor.present.sampling import load_for_display


class _Reader:
    def __init__(self, paths):
        self.frames = [load_for_display(p, 60, tail=60) for p in paths]

    def read(self):
        data, sampling = self.frames.pop(0) if len(self.frames) > 1 else self.frames[0]
        return data, sampling.total_steps


def test_a_finding_dated_to_a_later_window_is_not_printed_again(tmp_path):
    first = str(write_store(tmp_path / "a.sqlite", n_steps=20, findings=[{**VANISHING, "step": 3}],
                            status="running"))
    exploding = {**VANISHING, "kind": "exploding_gradient", "severity": "warning", "step": 30}
    later = str(write_store(tmp_path / "b.sqlite", n_steps=40,
                            findings=[{**VANISHING, "step": 30}, exploding], status="finished"))
    out = io.StringIO()
    why = _plain_loop(_Reader([first, later]), LiveState(path=first), Console(file=out, width=200), 0.01,
                      False, 5, (60.0, False))
    text = out.getvalue()
    assert why == "finished"
    assert text.count("CRITICAL vanishing_gradient (depth)") == 1, text  # the first frame's, not again
    assert "finding: WARNING exploding_gradient (depth)" in text, text  # a finding new to the log still is
