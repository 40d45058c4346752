"""Regression: once any findings were stored with a run (``graddoctor diagnose RUN`` run in another terminal while
it trains), ``graddoctor live`` showed them "stored with the run" for the rest of the run and never diagnosed
its window again, so a problem that began later never appeared. Findings stored before the window's last step
now give way to a diagnosis of the window; findings stored after it are still shown."""
import io
import time

from rich.console import Console
from tests.present.present_fixtures import layer_rows, write_synthetic_batch

from graddoctor.present.live import run_live
from graddoctor.store.sqlite import SQLiteStore, append_findings

OLD = {"kind": "stalled_learning", "severity": "warning", "layers": ["layers.5"], "axis": None, "step": 10,
       "evidence": {}, "causes": [], "remedies": [], "message": "an early stall", "detector": "stalled"}


def _live(path, stale: bool) -> str:
    store = SQLiteStore(path)
    store.begin({"model_class": "Net", "status": "running", "start_time": time.time() - 100},
                layer_rows([f"layers.{i}" for i in range(6)]))
    write_synthetic_batch(store, 0, 40, 0.0)
    if stale:
        append_findings(path, [OLD], source="diagnose")  # diagnosed while it trains
    write_synthetic_batch(store, 40, 40, 200.0 if stale else 0.0)
    if not stale:
        append_findings(path, [OLD], source="diagnose")
    out = io.StringIO()
    run_live(str(path), once=True, console=Console(file=out, width=120, color_system=None))
    store.close("finished")
    return out.getvalue()


def test_findings_stored_mid_run_give_way_to_the_window(tmp_path):
    out = _live(tmp_path / "a.sqlite", stale=True)
    assert "stored with the run" not in out and "diagnosis of the last" in out, out
    assert "vanishing_gradient" in out


def test_fresh_stored_findings_are_shown(tmp_path):
    out = _live(tmp_path / "b.sqlite", stale=False)
    assert "stored with the run" in out and "stalled_learning" in out, out
