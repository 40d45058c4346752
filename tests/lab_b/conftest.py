"""Helpers for the part-B lab tests: run a quick mode once per module and read its checks by name."""
import json
from pathlib import Path

import pytest

from graddoctor.lab.base import LabResult


def run_quick(module, out: Path) -> LabResult:
    """Run ``module.run(quick=True)`` into ``out``; assert every check passed and the JSON/PNGs were written."""
    result = module.run(quick=True, out=out)
    path = result.save_json(out)
    failed = [c.to_dict() for c in result.checks if not c.passed]
    assert not failed, failed
    data = json.loads(path.read_text())
    assert data["name"] == module.NAME and data["passed"] is True and data["checks"]
    assert all({"quantity", "published", "measured", "tolerance", "passed"} <= set(c) for c in data["checks"])
    assert result.figures and all(Path(p).stat().st_size > 1000 for p in result.figures)
    return result


def check(result: LabResult, prefix: str):
    """The one check whose quantity starts with ``prefix``."""
    found = [c for c in result.checks if c.quantity.startswith(prefix)]
    assert len(found) == 1, (prefix, [c.quantity for c in result.checks])
    return found[0]


def problem_kinds(result: LabResult, config: str | None = None) -> set[str]:
    """Problem kinds the doctor found (for one ``config`` tag); skips when the diagnosis engine is missing."""
    if result.diagnosed.endswith("[diagnosis engine not available]"):
        pytest.skip("diagnosis engine not available")
    return {f["kind"] for f in result.findings if f["severity"] in ("warning", "critical")
            and (config is None or f.get("config") == config)}
