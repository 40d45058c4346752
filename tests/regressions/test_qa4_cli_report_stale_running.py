"""Regression: the report of a run whose writer was killed (SIGKILL, the out-of-memory killer) said "status
running" with nothing else, an hour after the last step: such a writer never marks its run finished. The report
now says when the last step was recorded and that the writer may have stopped; a run that is really running
(its last step recent) or finished gets no such note."""
import time

import numpy as np

from graddoctor.present.html import render_run_report
from graddoctor.store.base import Batch
from graddoctor.store.sqlite import SQLiteStore


def _store(path, start: float, status: str | None):
    s = SQLiteStore(path)
    s.begin({"status": "running", "start_time": start}, [{"index": 0, "name": "fc", "type": "Linear", "order": 0}])
    s.write(Batch(steps=np.arange(3), wall_time=np.array([1.0, 2.0, 3.0]),
                  layer_stats={"signal_norm": np.ones((3, 1))}, step_stats={"loss": np.ones(3)}))
    if status:
        s.close(status)
    return str(path)


def test_killed_run_says_the_writer_may_have_stopped(tmp_path):
    run = _store(tmp_path / "killed.sqlite", time.time() - 3600, None)
    html = render_run_report(run, tmp_path / "r.html", figures=False).read_text(encoding="utf-8")
    assert 'id="status-note"' in html and "may have stopped" in html


def test_running_or_finished_run_gets_no_note(tmp_path):
    live = _store(tmp_path / "live.sqlite", time.time() - 5, None)
    html = render_run_report(live, tmp_path / "a.html", figures=False).read_text(encoding="utf-8")
    assert 'id="status-note"' not in html
    done = _store(tmp_path / "done.sqlite", time.time() - 3600, "finished")
    html = render_run_report(done, tmp_path / "b.html", figures=False).read_text(encoding="utf-8")
    assert 'id="status-note"' not in html
