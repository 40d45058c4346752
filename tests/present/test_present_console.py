"""Terminal views, compared with golden files (regenerate with GRADDOCTOR_REGEN_GOLDEN=1 and review the diff)."""
from __future__ import annotations

import io

from present_fixtures import REPAIR, VANISHING
from rich.console import Console

from graddoctor.diagnosis.findings import Diagnosis, Finding
from graddoctor.present.console import (
    fitted_table,
    make_console,
    print_diagnosis,
    print_findings,
    print_layer_table,
    print_repair,
)
from graddoctor.present.progress import progress, track
from graddoctor.store.sqlite import load_run

LAYERS = [{"layer": "fc1", "type": "Linear", "activation": "sigmoid", "signal": 1.2e-7, "grad_ratio": 3e-8,
           "update_ratio": None, "gain": 0.12, "activation_factor": 0.24, "weight_factor": 0.5, "saturated": 0.01,
           "dead": None, "init_verdict": "ok"},
          {"layer": "fc2", "type": "Linear", "activation": None, "signal": 0.03, "grad_ratio": 0.02,
           "update_ratio": None, "gain": None, "activation_factor": None, "weight_factor": None, "saturated": None,
           "dead": None, "init_verdict": "ok"}]


def _diagnosis() -> Diagnosis:
    return Diagnosis(findings=[
        Finding(**VANISHING),
        Finding(kind="dead_units", severity="warning", layers=["fc1"], step=40, evidence={"dead_fraction": 0.6},
                causes=["high_learning_rate_relu"], remedies=["lower_learning_rate", "use_leaky_relu"],
                message="60 % of the units never fire"),
        Finding(kind="saturation", severity="info", layers=["fc1"], step=2, message="a few units saturate")],
        layers=LAYERS, source="run")


def _plain(width: int = 100) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, no_color=True, color_system=None, highlight=False, emoji=False), buf


def test_diagnosis_golden(golden):
    console, buf = _plain()
    print_diagnosis(_diagnosis(), console)
    golden("diagnosis.txt", buf.getvalue())


def test_diagnosis_fits_80_columns_and_names_what_it_left_out():
    console, buf = _plain(80)
    print_diagnosis(_diagnosis(), console)
    lines = buf.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "CRITICAL" in buf.getvalue() and "WARNING" in buf.getvalue()  # severity in words, not only colour


def test_repair_golden(golden):
    console, buf = _plain()
    print_repair(REPAIR, console)
    golden("repair.txt", buf.getvalue())


def test_findings_golden(golden):
    console, buf = _plain()
    print_findings([VANISHING], console)
    print_findings([], console)
    golden("findings.txt", buf.getvalue())


def test_layer_table_golden(make_store, golden):
    data = load_run(make_store(n_layers=4, n_steps=12))
    console, buf = _plain()
    print_layer_table(data, step=5, console=console)
    golden("layer_table.txt", buf.getvalue())


def test_colour_follows_the_severity_and_no_color_removes_it(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    buf = io.StringIO()
    coloured = Console(file=buf, force_terminal=True, color_system="standard", width=100)
    print_diagnosis(_diagnosis(), coloured, layers=False, details=False)
    assert "\x1b[1;31m" in buf.getvalue()  # bold red for critical
    plain = make_console(force_plain=True)
    assert plain.no_color and plain.color_system is None
    monkeypatch.setenv("NO_COLOR", "1")
    buf = io.StringIO()
    print_diagnosis(_diagnosis(), Console(file=buf, force_terminal=True, width=100), layers=False, details=False)
    assert "\x1b[1;31m" not in buf.getvalue() and "CRITICAL" in buf.getvalue()


def test_fitted_table_keeps_the_fixed_columns():
    headers = ["#", "name", *[f"col{i}" for i in range(12)]]
    rows = [["0", "a-long-layer-name", *["1.23e-04"] * 12]]
    console, buf = _plain(60)
    console.print(fitted_table("t", headers, rows, n_fixed=2, width=60))
    out = buf.getvalue()
    header = next(line for line in out.splitlines() if "name" in line)
    assert "col0" in header and "col11" not in header and "a-long-layer-name" in out
    assert max(len(line) for line in out.splitlines()) <= 60
    assert "not shown for width" in out and "col11" in out


def test_progress_is_silent_off_a_terminal_and_counts(monkeypatch):
    monkeypatch.delenv("GRADDOCTOR_PROGRESS", raising=False)
    console, buf = _plain()
    with progress("work", total=3, console=console) as bar:
        for _ in range(3):
            bar.advance()
    assert bar.completed == 3 and buf.getvalue() == ""
    assert list(track([1, 2, 3], "x", console=console)) == [1, 2, 3]
    monkeypatch.setenv("GRADDOCTOR_PROGRESS", "1")
    term = Console(file=io.StringIO(), force_terminal=True, width=80)
    with progress("visible", total=2, console=term, transient=False) as bar:
        bar.advance(2)
    assert "visible" in term.file.getvalue()


def test_time_findings_say_the_memory_horizon():
    from graddoctor.present.explain import where

    f = {"layers": ["rnn"], "axis": "time", "evidence": {"memory_horizon": 12, "sequence_length": 50}}
    assert where(f) == "rnn; memory horizon 12 of 50 time steps"
    f["evidence"]["memory_horizon"] = None
    assert "≥ the sequence length (50" in where(f)
