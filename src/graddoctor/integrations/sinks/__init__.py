"""Logging sinks: the records a run writes, also sent to TensorBoard, MLflow, wandb or a trainer's logger.

One small protocol, :class:`Sink` (``start`` / ``log`` / ``finish``), and one adapter, :class:`TeeStore`, that
sits between the Monitor and its run store: every flush written to the store is also logged to each sink as
scalars (``graddoctor/<stat>/<layer>`` per layer, ``graddoctor/<stat>`` per step), and when the run closes
the findings (``run.diagnose()``'s) are sent once. Sinks are used on the main process only: under
torch.distributed only rank 0 has a store to tee, and :class:`TeeStore` drops its sinks elsewhere.

    from graddoctor.integrations.sinks import with_sinks
    from graddoctor.integrations.sinks.tensorboard import TensorBoardSink
    with gd.watch(model, opt, store=with_sinks("run.sqlite", TensorBoardSink("tb/"))) as run:
        ...
"""
from __future__ import annotations

import math
import os
import re
import warnings
from typing import Any, Protocol

from ...errors import GradDoctorWarning, StoreError
from ...store.base import Batch

#: Per-layer statistics sent to sinks by default: the ones the findings rest on (every layer, every step).
KEY_STATS: tuple[str, ...] = ("weight_grad_norm", "grad_ratio", "update_ratio", "signal_norm")
#: Per-step statistics sent by default.
STEP_STATS: tuple[str, ...] = ("loss", "total_grad_norm", "nonfinite_grads")
#: Prefix of every tag graddoctor logs.
PREFIX = "graddoctor"


class Sink(Protocol):
    """Where a run's records go besides its store. Implementations import their library lazily."""

    def start(self, meta: dict[str, Any], layers: list[str]) -> None:
        """Called once when the run begins, with its metadata and layer names (forward order)."""

    def log(self, step: int, scalars: dict[str, float]) -> None:
        """Scalars of one optimizer step, tags as ``graddoctor/<stat>[/<layer>]``; NaN values are left out."""

    def finish(self, findings: list[dict[str, Any]], status: str) -> None:
        """Called once at the end with the findings (``Finding.to_dict()`` form) and the run status."""


def tag(stat: str, layer: str | None = None) -> str:
    """The tag of a statistic (and layer), restricted to characters every backend accepts."""
    name = f"{PREFIX}/{stat}" if layer is None else f"{PREFIX}/{stat}/{layer}"
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", name)


def batch_scalars(batch: Batch, layers: list[str], stats: tuple[str, ...] = KEY_STATS,
                  step_stats: tuple[str, ...] = STEP_STATS) -> list[tuple[int, dict[str, float]]]:
    """(step, {tag: value}) for each step of a flushed batch; non-finite values are left out."""
    out = []
    for i, step in enumerate(batch.steps.tolist()):
        scalars: dict[str, float] = {}
        for stat in stats:
            arr = batch.layer_stats.get(stat)
            if arr is None:
                continue
            for li, name in enumerate(layers):
                v = float(arr[i, li])
                if math.isfinite(v):
                    scalars[tag(stat, name)] = v
        for stat in step_stats:
            arr = batch.step_stats.get(stat)
            if arr is not None and math.isfinite(float(arr[i])):
                scalars[tag(stat)] = float(arr[i])
        out.append((int(step), scalars))
    return out


def findings_markdown(findings: list[dict[str, Any]]) -> str:
    """Findings as a small markdown table (for text panels)."""
    if not findings:
        return "graddoctor: no findings."
    rows = ["| kind | severity | layers | step | causes | remedies |", "|---|---|---|---|---|---|"]
    for f in findings:
        rows.append("| {} | {} | {} | {} | {} | {} |".format(
            f.get("kind"), f.get("severity"), ", ".join(f.get("layers") or []), f.get("step"),
            ", ".join(f.get("causes") or []), ", ".join(f.get("remedies") or [])))
    return "\n".join(rows)


def _is_main_process() -> bool:
    from ..distributed import local_rank_zero

    return local_rank_zero()


class TeeStore:
    """A run store that also logs every flush to sinks. Pass it as ``gd.watch(..., store=TeeStore(...))``.

    Args:
        store: the store to wrap (a path, ``None`` for memory, or a store object).
        sinks: the sinks.
        stats: per-layer statistics to log.
        diagnose: at close, diagnose the run and send the findings to the sinks.
        finish_on_close: call the sinks' ``finish`` when the store closes (an adapter that diagnoses the run
            itself passes False and calls ``finish`` later).
        overwrite: for a path, replace an existing store.
    """

    def __init__(self, store: Any, sinks: list[Sink], *, stats: tuple[str, ...] = KEY_STATS,
                 diagnose: bool = True, finish_on_close: bool = True, overwrite: bool = False) -> None:
        from ...store.memory import MemoryStore
        from ...store.sqlite import SQLiteStore

        main = _is_main_process()
        if store is None or (not main and isinstance(store, (str, os.PathLike))):
            # Another rank never opens the path: rank 0 writes it (a second opener would find rank 0's file and
            # refuse it, or with overwrite=True delete it under rank 0); DistributedMonitor keeps that rank's
            # records in memory.
            store = MemoryStore()
        elif isinstance(store, (str, os.PathLike)):
            try:
                store = SQLiteStore(store, overwrite=overwrite)
            except StoreError as e:
                if overwrite or "already exists" not in str(e):
                    raise
                # with_sinks opens the store itself, before watch() runs: watch()'s overwrite= cannot reach it
                raise StoreError(f"{e} (here: with_sinks({os.fspath(store)!r}, ..., overwrite=True), since with_sinks "
                                 "opens the store; watch()'s overwrite= applies to store paths only)") from None
        self.inner = store
        self.sinks = list(sinks) if main else []
        self.stats = tuple(stats)
        self.diagnose = diagnose
        self.finish_on_close = finish_on_close
        self.layers: list[str] = []
        self.findings: list[dict[str, Any]] = []
        self._failed: dict[int, str] = {}  # id(sink) -> the call that failed first

    @property
    def path(self) -> str | None:
        return getattr(self.inner, "path", None)

    def _each(self, what: str, fn: Any) -> None:
        # A sink that fails is warned about once and not logged to again: a backend that is missing or down
        # would otherwise warn (and, for a server, time out) at every flush. ``finish`` is still attempted
        # after a failed ``log`` (to close what the sink opened), never after a failed ``start``.
        for sink in self.sinks:
            failed = self._failed.get(id(sink))
            if failed == "start" or (failed is not None and what == "log"):
                continue
            try:
                fn(sink)
            except Exception as e:  # a logging backend never breaks training
                if failed is None:
                    self._failed[id(sink)] = what
                    warnings.warn(f"graddoctor: {type(sink).__name__}.{what} failed ({type(e).__name__}: {e}); "
                                  "graddoctor stops logging to it, the run store is unaffected",
                                  GradDoctorWarning, stacklevel=3)

    def begin(self, meta: dict[str, Any], layers: list[dict[str, Any]]) -> None:
        self.inner.begin(meta, layers)
        self.layers = [d["name"] for d in layers]
        self._each("start", lambda s: s.start(meta, list(self.layers)))

    def update_meta(self, meta: dict[str, Any]) -> None:
        self.inner.update_meta(meta)

    def update_layers(self, layers: list[dict[str, Any]]) -> None:
        self.inner.update_layers(layers)

    def write(self, batch: Batch) -> None:
        self.inner.write(batch)
        if self.sinks:
            for step, scalars in batch_scalars(batch, self.layers, self.stats):
                self._each("log", lambda s, st=step, sc=scalars: s.log(st, sc))

    def add_findings(self, findings: list[dict[str, Any]], source: str) -> None:
        self.inner.add_findings(findings, source)

    def run_data(self) -> Any:
        return self.inner.run_data()

    def close(self, status: str) -> None:
        if not self.finish_on_close:
            self.inner.close(status)
            return
        if self.sinks and self.diagnose:
            self.findings = self._findings()
        try:
            self._each("finish", lambda s: s.finish(list(self.findings), status))
        finally:
            self.inner.close(status)

    def _findings(self) -> list[dict[str, Any]]:
        try:
            from ...diagnosis import diagnose_run
        except ImportError:  # diagnosis not available: the records were still logged
            return []
        try:
            return [f.to_dict() for f in diagnose_run(self.inner.run_data()).findings]
        except Exception as e:
            warnings.warn(f"graddoctor: could not diagnose the run for the sinks ({type(e).__name__}: {e})",
                          GradDoctorWarning, stacklevel=3)
            return []


def with_sinks(store: Any, *sinks: Sink, stats: tuple[str, ...] = KEY_STATS, diagnose: bool = True,
               overwrite: bool = False) -> TeeStore:
    """``store`` (a path, ``None`` or a store) teed to ``sinks``; pass the result as ``watch(store=...)``."""
    return TeeStore(store, list(sinks), stats=stats, diagnose=diagnose, overwrite=overwrite)


__all__ = ["Sink", "TeeStore", "with_sinks", "batch_scalars", "findings_markdown", "tag", "KEY_STATS",
           "STEP_STATS"]
