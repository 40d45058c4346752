"""Regression: ``print_findings`` (what ``graddoctor check`` prints under its table) listed every layer of a
finding: a vanishing gradient through a 60-layer net printed 60 names over several lines (a 300-layer one,
300), and a finding through time said only "at rnn", without the memory horizon that the diagnose view and the
report show. It now says where the finding is as they do: the first names, "...", the last and the count, and
the memory horizon of a time-axis finding."""
from rich.console import Console

from graddoctor.present.console import print_findings


def _printed(finding: dict) -> str:
    console = Console(width=200, record=True, color_system=None)
    print_findings([finding], console)
    return console.export_text()


def test_a_deep_finding_is_abbreviated():
    layers = [str(2 * i) for i in range(60)]
    out = _printed({"kind": "vanishing_gradient", "severity": "critical", "axis": "depth", "layers": layers,
                    "step": None, "message": "m"})
    assert "(60 layers)" in out and ", ..., 118" in out
    assert "58, 60" not in out


def test_a_time_finding_names_its_memory_horizon():
    out = _printed({"kind": "vanishing_gradient", "severity": "warning", "axis": "time", "layers": ["rnn"],
                    "step": None, "evidence": {"memory_horizon": 12, "sequence_length": 64}})
    assert "at rnn; memory horizon 12 of 64 time steps" in out
