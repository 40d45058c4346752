"""Regression: a finding of a watched run without a step (poor_initialization, from the initial-weight audit)
was labelled as coming from a one-batch check: `graddoctor diagnose` printed "check" in its step column and the
run report "one-batch check". Only a check's findings say so now; the audit's says "init" / "from the initial
weights"."""
from rich.console import Console
from tests.present.present_fixtures import write_store

from graddoctor.present.console import print_diagnosis
from graddoctor.present.html import render_run_report

INIT = {"kind": "poor_initialization", "severity": "info", "layers": ["layers.0"], "step": None,
        "causes": ["init_scale_too_large"], "remedies": ["he_init"], "message": "weights too large"}


def _text(diag):
    console = Console(width=120, record=True, no_color=True)
    print_diagnosis(diag, console, layers=False)
    return console.export_text()


def test_run_finding_without_step_is_not_a_check(tmp_path):
    text = _text({"source": "run", "findings": [INIT]})
    row = next(line for line in text.splitlines() if "poor_initialization" in line and "INFO" in line)
    assert "check" not in row and "init" in row.split("poor_initialization", 1)[1], text
    assert "check" in _text({"source": "check", "findings": [INIT]})
    store = write_store(tmp_path / "run.sqlite", n_steps=5)
    html = render_run_report(str(store), tmp_path / "r.html", diagnosis={"findings": [INIT]},
                             figures=False).read_text(encoding="utf-8")
    assert "one-batch check" not in html and "from the initial weights" in html
