"""The findings vocabulary: :class:`Finding` and :class:`Diagnosis`."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from .codes import AXES, CAUSES, KINDS, REMEDIES, SEVERITIES, check_code


def _jsonable(value: Any) -> Any:
    """Convert numpy/torch scalars and arrays, and non-finite floats, into plain JSON values (also the user's
    ``meta`` of gd.watch(), which the store writes as JSON: paths and other objects become strings)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return _jsonable(value.tolist())
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    return str(value)


@dataclass
class Finding:
    """One problem (or observation) with the numbers behind it.

    Attributes:
        kind: one of :data:`graddoctor.diagnosis.codes.KINDS`.
        severity: ``"info"``, ``"warning"`` or ``"critical"``; only warning and critical mean a problem.
        layers: qualified module names affected, in forward order.
        axis: ``"depth"`` or ``"time"`` for vanishing/exploding gradients, else ``None``.
        origin: for ``non_finite``, the first module whose output is non-finite, ``"<input>"`` or ``"<loss>"``.
        step: first optimizer step where it was seen; ``None`` for a check.
        evidence: the numbers behind the claim.
        causes: cause codes, most likely first.
        remedies: remedy codes, best first.
        message: one human sentence summarising the finding (never used by tests).
        detector: name of the detector that produced it.
    """

    kind: str
    severity: str
    layers: list[str] = field(default_factory=list)
    axis: str | None = None
    origin: str | None = None
    step: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    causes: list[str] = field(default_factory=list)
    remedies: list[str] = field(default_factory=list)
    message: str = ""
    detector: str = ""

    def __post_init__(self) -> None:
        check_code(KINDS, self.kind, "finding kind")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")
        if self.axis is not None and self.axis not in AXES:
            raise ValueError(f"axis must be one of {AXES} or None, not {self.axis!r}")
        for c in self.causes:
            check_code(CAUSES, c, "cause")
        for r in self.remedies:
            check_code(REMEDIES, r, "remedy")

    @property
    def is_problem(self) -> bool:
        """True for warning and critical findings."""
        return self.severity in ("warning", "critical")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return _jsonable(
            {
                "kind": self.kind,
                "severity": self.severity,
                "layers": list(self.layers),
                "axis": self.axis,
                "origin": self.origin,
                "step": self.step,
                "evidence": self.evidence,
                "causes": list(self.causes),
                "remedies": list(self.remedies),
                "message": self.message,
                "detector": self.detector,
            }
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`."""
        keys = ("kind", "severity", "layers", "axis", "origin", "step", "evidence", "causes", "remedies",
                "message", "detector")
        return cls(**{k: d[k] for k in keys if k in d})


_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass
class Diagnosis:
    """The result of :func:`graddoctor.check` or :func:`graddoctor.diagnose`.

    Attributes:
        findings: every finding, most severe first.
        layers: the per-layer table (one dict per layer, in forward order).
        source: ``"check"`` or ``"run"``.
        meta: context (model summary, steps, store path, timings).
    """

    findings: list[Finding] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    source: str = "check"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.findings.sort(key=lambda f: -_SEVERITY_RANK[f.severity])

    @property
    def problems(self) -> list[Finding]:
        """Warning and critical findings only."""
        return [f for f in self.findings if f.is_problem]

    @property
    def healthy(self) -> bool:
        """True when no finding is a warning or critical."""
        return not self.problems

    def by_kind(self, kind: str) -> list[Finding]:
        """Findings of one kind."""
        return [f for f in self.findings if f.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; the CLI's ``--json`` prints exactly this."""
        return _jsonable(
            {
                "source": self.source,
                "healthy": self.healthy,
                "findings": [f.to_dict() for f in self.findings],
                "layers": self.layers,
                "meta": self.meta,
            }
        )

    def report(self, path: str, **kwargs: Any) -> Any:
        """Write a self-contained HTML report of this diagnosis to ``path``."""
        from ..present.html import render_check_report

        return render_check_report(self, path, **kwargs)

    def to_json(self, **kwargs: Any) -> str:
        """``json.dumps(self.to_dict())``."""
        return json.dumps(self.to_dict(), **kwargs)
