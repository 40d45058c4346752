"""Regression: for a run longer than --max-steps (1,000 by default) ``graddoctor report`` did not diagnose but
showed the findings stored with the run, however old: a ``graddoctor diagnose`` taken early in the training (its
findings stored) hid every problem that began after it, and the page presented them as the run's findings. When
the stored findings predate the run's last recorded step, the report now diagnoses the displayed steps."""
import time

from click.testing import CliRunner
from tests.present.present_fixtures import layer_rows, write_synthetic_batch

from graddoctor.cli import main
from graddoctor.store.sqlite import SQLiteStore, append_findings

STALE = {"kind": "stalled_learning", "severity": "warning", "layers": ["layers.5"], "axis": None, "step": 10,
         "evidence": {}, "causes": [], "remedies": [], "message": "an early stall", "detector": "stalled"}


def _run(path, stale: bool):
    """1,200 steps; a diagnosis is stored after the first 600 (``stale``) or after all of them."""
    store = SQLiteStore(path)
    store.begin({"model_class": "Net", "status": "running", "start_time": time.time() - 100}, layer_rows(
        [f"layers.{i}" for i in range(6)]))
    write_synthetic_batch(store, 0, 600, 0.0)  # recorded about 94 s ago
    if stale:
        append_findings(path, [STALE], source="diagnose")  # a diagnosis taken mid-run (the writer goes on)
    write_synthetic_batch(store, 600, 600, 200.0 if stale else 0.0)  # recorded after it
    store.close("finished")
    if not stale:
        append_findings(path, [STALE], source="diagnose")
    return str(path)


def _summary(tmp_path, stale):
    out = tmp_path / f"r{stale}.html"
    res = CliRunner().invoke(main, ["report", _run(tmp_path / f"run{stale}.sqlite", stale), "-o", str(out),
                                    "--no-figures"])
    assert res.exit_code == 0, res.output
    return out.read_text(encoding="utf-8")


def test_findings_stored_mid_run_do_not_hide_later_problems(tmp_path):
    html = _summary(tmp_path, stale=True)
    assert "vanishing_gradient" in html, "the report showed the early diagnosis only"


def test_fresh_stored_findings_are_still_shown(tmp_path):
    html = _summary(tmp_path, stale=False)
    assert "an early stall" in html and "stored with the run" in html
