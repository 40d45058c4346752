"""Helpers for the lab tests: run an experiment's quick mode once and check what it wrote."""
import json
from pathlib import Path

import pytest

from graddoctor.lab.base import LabResult
from graddoctor.lab.runner import run_experiment

NOT_AVAILABLE = "[diagnosis engine not available]"


def _run_quick(name: str, out: Path) -> LabResult:
    """Run ``name --quick`` into ``out`` and assert the common contract: all checks pass, JSON and PNG written."""
    result = run_experiment(name, quick=True, out=out)
    failed = [c.to_dict() for c in result.checks if not c.passed]
    assert not failed, failed
    data = json.loads((out / f"{name}.json").read_text())
    assert data["name"] == name and data["quick"] is True and data["passed"] is True
    assert data["checks"] and all({"quantity", "published", "measured", "tolerance", "passed"} <= set(c)
                                  for c in data["checks"])
    assert data["series"]
    assert result.figures and all(Path(p).stat().st_size > 1000 for p in result.figures)
    return result


def _doctor_kinds(result: LabResult, config: str | None = None) -> set[str] | None:
    """Problem kinds the doctor found (for one ``config`` tag), or None when the engine is not available."""
    if result.diagnosed.endswith(NOT_AVAILABLE):
        return None
    return {f["kind"] for f in result.findings if f["severity"] in ("warning", "critical")
            and (config is None or f.get("config") == config)}


@pytest.fixture
def run_quick():
    return _run_quick


@pytest.fixture
def expect_doctor():
    """``expect_doctor(result, config, kinds)``: the doctor found one of ``kinds`` (skips without the engine)."""
    def check(result: LabResult, config: str | None, kinds: set[str]) -> None:
        found = _doctor_kinds(result, config)
        if found is None:
            pytest.skip("diagnosis engine not available")
        assert found & kinds, (config, found, result.findings)
    return check
