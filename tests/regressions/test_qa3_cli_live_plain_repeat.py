"""Regression: piped (no terminal), `graddoctor live` printed the full view and then, at the first refresh, a
status line for the very step the view had just shown ("step 0 · 1 steps recorded ...") although no new step
had come. Status lines now start with the first new step."""
import io

from rich.console import Console
from tests.present.present_fixtures import write_store

from graddoctor.present.live import run_live


def test_plain_view_does_not_repeat_the_step_it_showed(tmp_path):
    store = write_store(tmp_path / "run.sqlite", n_steps=5, status="running")
    buf = io.StringIO()
    why = run_live(str(store), console=Console(file=buf, width=120), interval=0.05, max_frames=3)
    assert why == "frames"
    assert buf.getvalue().count("step 4  ·  5 steps recorded") == 1, buf.getvalue()  # the view's own line
