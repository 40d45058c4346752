"""docs/robustness.md's bad-input table and docs/limitations.md did not mention two behaviours added in this pass:
the warning when a new optimizer replaces the watched one (145dd44) and the warning when a torch.compile graph
traced before watch() bypasses the hooks (99f8f8f); a reader of the guarantees could not know either. Both pages
now say so; this checks the sentences against the constant they name."""
from __future__ import annotations

from pathlib import Path

from graddoctor.probe.monitor import OTHER_OPTIMIZER_STEPS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _text(name: str) -> str:
    return " ".join((DOCS / name).read_text(encoding="utf-8").split())


def test_pages_mention_the_new_warnings() -> None:
    rob = _text("robustness.md")
    assert f"has stepped the watched optimizer's parameters {OTHER_OPTIMIZER_STEPS} times" in rob
    assert "a graph traced before `watch()` runs without them, and a warning says so" in _text("limitations.md")
