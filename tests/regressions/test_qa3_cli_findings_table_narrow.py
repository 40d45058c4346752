"""Regression: the findings table of `graddoctor diagnose` (present.console.findings_table) cut its severity and
step cells in a narrow terminal: at 40 columns "WARNING" printed as "WARNI" and first step 190 as "1", a wrong
number, and the "where" column vanished. Severity and step now keep their full width; kind and where fold."""
from rich.console import Console

from graddoctor.present.console import findings_table

FINDINGS = [{"kind": "vanishing_gradient", "severity": "critical", "axis": "depth", "step": 190,
             "layers": ["encoder.layers.0.linear1", "encoder.layers.1.linear1"]},
            {"kind": "stalled_learning", "severity": "warning", "step": 12345, "layers": ["fc"]}]


def test_narrow_findings_table_keeps_severity_and_step_whole():
    for width in (40, 60, 100):
        console = Console(width=width, record=True, no_color=True)
        console.print(findings_table(FINDINGS))
        text = console.export_text()
        assert "CRITICAL" in text and "WARNING" in text, text
        cells = [line.split() for line in text.splitlines() if line.strip().startswith(("CRITICAL", "WARNING"))]
        assert [c[0] for c in cells] == ["CRITICAL", "WARNING"], text
        assert "190" in text and "12345" in text, text
        assert "fc" in text, text
