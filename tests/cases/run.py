"""Run a corpus case through gd.check or a short watched training, and score the result."""
from __future__ import annotations

import time
from typing import Any

import torch

import graddoctor as gd

from . import CorpusCase


def run_check(case: CorpusCase, seed: int = 0) -> tuple[Any, float]:
    """``gd.check`` on the case's batch (model built under ``seed``); returns (diagnosis, seconds)."""
    torch.manual_seed(seed)
    model = case.build()
    x, y = case.data()
    t0 = time.perf_counter()
    diag = gd.check(model, x, y, case.loss_fn)
    return diag, time.perf_counter() - t0


def run_train(case: CorpusCase, seed: int = 0) -> tuple[Any, float]:
    """A short training of the case on its one batch under ``gd.watch``; returns (diagnosis, seconds)."""
    torch.manual_seed(seed)
    model = (case.build_train or case.build)()
    x, y = case.data()
    tr = case.train
    opt_cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[tr.get("optimizer", "sgd")]
    opt = opt_cls(model.parameters(), lr=tr.get("lr", 0.01), weight_decay=tr.get("weight_decay", 0.0))
    t0 = time.perf_counter()
    with gd.watch(model, opt) as run:
        for step in range(tr.get("steps", 20)):
            if case.train_batch is not None:
                x, y = case.train_batch(step)
            opt.zero_grad()
            loss = case.loss_fn(model(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
    diag = run.diagnose()
    return diag, time.perf_counter() - t0


def problems(diag: Any) -> set[str]:
    """The kinds of the warning/critical findings."""
    return {f.kind for f in diag.problems}


def score(diag: Any, expect: dict[str, dict[str, Any]], allow: set[str]) -> list[str]:
    """Everything wrong with ``diag`` against the expectation (empty list: as expected)."""
    errors = []
    found = problems(diag)
    for kind, req in expect.items():
        fs = [f for f in diag.problems if f.kind == kind]
        if not fs:
            errors.append(f"missed {kind}")
            continue
        ok = [f for f in fs if _matches(f, req)]
        if not ok:
            errors.append(f"{kind} found but not as expected {req}: " + "; ".join(
                f"axis={f.axis} origin={f.origin} layers={f.layers[:3]} causes={f.causes}" for f in fs))
    extra = found - set(expect) - set(allow)
    for kind in sorted(extra):
        f = next(f for f in diag.problems if f.kind == kind)
        errors.append(f"unexpected {f.severity} {kind} ({f.detector}) at {f.layers[:3]}: {f.message}")
    return errors


def _matches(f: Any, req: dict[str, Any]) -> bool:
    if "axis" in req and f.axis != req["axis"]:
        return False
    if "origin" in req and f.origin != req["origin"]:
        return False
    if "cause" in req and req["cause"] not in f.causes:
        return False
    if "first_layer" in req and (not f.layers or f.layers[0] != req["first_layer"]):
        return False
    if "layers" in req and not set(req["layers"]) <= set(f.layers):
        return False
    return bool(f.remedies) or f.kind == "stalled_learning"
