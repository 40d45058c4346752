"""Diagnosis: statistics in, findings out.

``diagnose_run(data)`` runs every registered detector (see :mod:`graddoctor.diagnosis.detectors`) on a
:class:`~graddoctor.RunData`; ``diagnose(path_or_data)`` does the same from a run store.
"""
from __future__ import annotations

import os
import time
from typing import Any

from ..store.run_data import RunData
from .context import Context
from .findings import Diagnosis, Finding


def run_detectors(ctx: Context, **thresholds: Any) -> list[Finding]:
    """Every registered detector's findings on ``ctx``.

    Args:
        ctx: what the detectors read.
        **thresholds: overrides, flat (``signal_ratio=0.01``) or per detector
            (``vanishing_depth={"signal_ratio": 0.01}``); unknown names raise ``ValueError``.
    """
    from .detectors import build_detectors

    findings: list[Finding] = []
    for det in build_detectors(thresholds):
        findings.extend(det.detect(ctx))
    return findings


def diagnose_context(ctx: Context, **thresholds: Any) -> Diagnosis:
    """Findings and the per-layer table of a :class:`Context`."""
    from .causes import structure
    from .table import layer_table

    t0 = time.perf_counter()
    findings = run_detectors(ctx, **thresholds)
    meta = {"n_steps": ctx.n_steps, "n_layers": len(ctx.layers), "model_class": ctx.meta.get("model_class"),
            "structure": structure(ctx), "diagnosis_seconds": round(time.perf_counter() - t0, 4)}
    if ctx.source == "run":
        meta["steps"] = [int(ctx.steps[0]), int(ctx.steps[-1])] if ctx.n_steps else []
        meta["status"] = ctx.meta.get("status")
    return Diagnosis(findings=findings, layers=layer_table(ctx), source=ctx.source, meta=meta)


def diagnose_run(data: RunData, **thresholds: Any) -> Diagnosis:
    """Diagnose a recorded run.

    Args:
        data: what :func:`graddoctor.load_run` or ``run.data`` returns.
        **thresholds: detector threshold overrides (see docs/detectors.md).

    Returns:
        A :class:`Diagnosis` with ``source="run"``.
    """
    if not isinstance(data, RunData):
        raise TypeError(f"diagnose_run expects a graddoctor RunData, got {type(data).__name__}; "
                        "use gd.diagnose(path) for a store file")
    diag = diagnose_context(Context.from_run(data, source="run"), **thresholds)
    if data.path:
        diag.meta["store"] = data.path
    return diag


def diagnose(source: str | os.PathLike[str] | RunData, *, save: bool = True, **thresholds: Any) -> Diagnosis:
    """Diagnose a run from its store file (or from a :class:`RunData`).

    Args:
        source: path of a ``.sqlite`` run store written by ``gd.watch(store=...)``, or a RunData.
        save: when ``source`` is a path, write the findings back into that store
            (:func:`graddoctor.store.sqlite.append_findings`, ``source="diagnose"``), so that
            ``gd.load_run(path).findings`` returns them. Each diagnosis replaces the previous one in what
            readers show (earlier ones stay in the store: ``graddoctor.store.sqlite.load_findings(path,
            history=True)``); one identical to the diagnosis stored last is not written again. If the store cannot be written (e.g. a read-only file) the diagnosis is still
            returned, with a warning and ``meta["saved"] = False``. Ignored for a RunData.
        **thresholds: detector threshold overrides (see docs/detectors.md).

    Raises:
        graddoctor.StoreError: the file is missing or not a run store.
    """
    if isinstance(source, RunData):
        return diagnose_run(source, **thresholds)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"diagnose expects a run store path or a RunData, got {type(source).__name__}")
    from ..store.sqlite import load_run

    data = load_run(source)
    diag = diagnose_run(data, **thresholds)
    if save:
        diag.meta["saved"] = _save_findings(source, data, diag)
    return diag


def _save_findings(path: str | os.PathLike[str], data: RunData, diag: Diagnosis) -> bool:
    """Store ``diag``'s findings at ``path`` as the latest diagnosis, which readers show instead of the
    previous one (kept in the store), unless the last stored diagnosis is the same."""
    import json
    import warnings

    from ..errors import StoreError
    from ..store.sqlite import append_findings

    new = [json.loads(json.dumps(f.to_dict())) for f in diag.findings]
    # data.findings holds the latest diagnosis of each source (earlier ones stay in the store, unshown)
    stored = [{k: v for k, v in f.items() if k != "source"} for f in data.findings if f.get("source") == "diagnose"]
    if stored == new and (new or data.diagnosed):
        # already there: diagnosing an unchanged store again writes nothing. A clean diagnosis of a store never
        # diagnosed is stored (an empty batch), so readers can tell "no problem found" from "not diagnosed".
        return True
    try:
        append_findings(path, new, source="diagnose")
    except StoreError as e:
        warnings.warn(f"the diagnosis was not saved into the run store: {e}", stacklevel=3)
        return False
    return True


__all__ = ["diagnose", "diagnose_run", "diagnose_context", "run_detectors", "Context", "Diagnosis", "Finding"]
