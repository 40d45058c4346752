"""Regression: `graddoctor diagnose` printed "stalled_learning: the activation factor dominates (log10 of the
product over the layers: activation None, weight None)": the stalled finding carries the vanishing finding's
dominant factor without the logs behind it. The line is printed only with its numbers."""
from rich.console import Console

from graddoctor.commands import check as check_cmd


class _Finding:
    def __init__(self, kind, evidence):
        self.kind, self.evidence = kind, evidence


class _Diag:
    layers: list = []
    findings: list = []

    def __init__(self, problems):
        self.problems = problems


def test_dominant_factor_line_needs_its_numbers(monkeypatch):
    out = Console(record=True, width=200)
    monkeypatch.setattr("graddoctor.present.console.make_console", lambda *a, **kw: out)
    diag = _Diag([_Finding("vanishing_gradient", {"dominant_factor": "activation", "log10_activation": -3.1,
                                                  "log10_weight": -1.2}),
                  _Finding("stalled_learning", {"dominant_factor": "activation"})])
    check_cmd.print_diagnosis(diag, "t")
    text = out.export_text()
    assert "vanishing_gradient: the activation factor dominates" in text and "-3.1" in text
    assert "None" not in text and "stalled_learning: the" not in text
