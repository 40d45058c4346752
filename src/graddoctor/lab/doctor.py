"""Run graddoctor itself on a lab configuration, tolerating a diagnosis engine that is not there yet.

The experiments call :func:`check` (one batch, before training) or :func:`diagnose` (a watched run); both
return the findings as plain dicts (``Finding.to_dict()``), or ``None`` when the diagnosis part of
graddoctor is not importable, so an experiment never fails because of it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


def _to_dicts(diag: Any) -> list[dict[str, Any]]:
    return [f.to_dict() for f in diag.findings]


def check(model: torch.nn.Module, inputs: Any, targets: torch.Tensor,
          loss_fn: Callable[[Any, torch.Tensor], torch.Tensor]) -> list[dict[str, Any]] | None:
    """``gd.check(model, inputs, targets, loss_fn)`` as a list of finding dicts, or ``None`` if unavailable.
    ``inputs`` is whatever the model takes: a tensor, or a tuple of them (e.g. source and decoder input)."""
    try:
        from ..probe.check import check as gd_check
    except ImportError:
        return None
    return _to_dicts(gd_check(model, inputs, targets, loss_fn))


def diagnose(run: Any) -> list[dict[str, Any]] | None:
    """``run.diagnose()`` of a :class:`graddoctor.Monitor` as finding dicts, or ``None`` if unavailable."""
    try:
        from ..diagnosis import diagnose_run  # noqa: F401
    except ImportError:
        return None
    return _to_dicts(run.diagnose())


def problems(findings: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The findings that mean a problem (severity warning or critical)."""
    return [f for f in findings or [] if f.get("severity") in ("warning", "critical")]


def kinds(findings: Iterable[dict[str, Any]] | None) -> set[str]:
    """The kinds of the problem findings."""
    return {f["kind"] for f in problems(findings)}


def summary(findings: Iterable[dict[str, Any]] | None) -> str:
    """One line: ``kind (severity, causes -> remedies)`` per problem finding."""
    if findings is None:
        return "(diagnosis engine not available)"
    parts = [f"{f['config'] + ': ' if 'config' in f else ''}{f['kind']} ({f['severity']}; causes {', '.join(f.get('causes') or []) or '-'}; "
             f"remedies {', '.join(f.get('remedies') or []) or '-'})" for f in problems(findings)]
    return "; ".join(parts) or "no problem found"


def attach(result: Any, findings: list[dict[str, Any]] | None, what: str) -> None:
    """Store the doctor's ``findings`` on a :class:`~graddoctor.lab.base.LabResult`, saying what was examined."""
    result.findings = findings or []
    result.diagnosed = what if findings is not None else f"{what} [diagnosis engine not available]"
