"""The lab's small framework: checks against published numbers, results, and the experiment registry.

An experiment is a module in ``graddoctor.lab.experiments`` that defines ``NAME``, ``TITLE``, ``SOURCE``
(the paper) and ``run(quick: bool, seeds: int | None, out: Path | None, progress) -> LabResult``; it is
listed in :data:`graddoctor.lab.registry.EXPERIMENTS`.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Check:
    """One quantity compared with its published value.

    ``tolerance`` is a human-readable statement of the band (e.g. "+-35 %", "in [3.5, 6.5]", "ordering");
    ``passed`` is decided by the experiment with that band.
    """

    quantity: str
    published: Any
    measured: Any
    tolerance: str
    passed: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "published": _plain(self.published), "measured": _plain(self.measured),
                "tolerance": self.tolerance, "passed": bool(self.passed), "note": self.note}


@dataclass
class LabResult:
    """What one experiment run produced."""

    name: str
    title: str
    source: str
    checks: list[Check] = field(default_factory=list)
    series: dict[str, Any] = field(default_factory=dict)       # raw numbers behind the figures
    findings: list[dict[str, Any]] = field(default_factory=list)  # the doctor on the broken configuration
    diagnosed: str = ""                                         # which configuration the doctor examined
    remedy: dict[str, Any] = field(default_factory=dict)       # the remedy's effect
    figures: list[str] = field(default_factory=list)           # PNG paths written
    seconds: float = 0.0
    quick: bool = True
    seeds: int | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "source": self.source, "quick": self.quick,
                "seeds": self.seeds, "seconds": self.seconds, "passed": self.passed,
                "checks": [c.to_dict() for c in self.checks], "findings": _plain(self.findings),
                "diagnosed": self.diagnosed,
                "remedy": _plain(self.remedy), "figures": self.figures, "series": _plain(self.series)}

    def save_json(self, out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{self.name}.json"
        tmp = path.with_name(path.name + ".tmp")      # written whole, then renamed: a killed run never
        tmp.write_text(json.dumps(self.to_dict(), indent=1))   # leaves a truncated result behind
        os.replace(tmp, path)
        return path


def within(measured: float, published: float, rel: float) -> bool:
    """``|measured - published| <= rel * |published|``."""
    return bool(math.isfinite(measured) and abs(measured - published) <= rel * abs(published))


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "tolist"):
        return _plain(v.tolist())
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v
