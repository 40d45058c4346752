"""In-memory store (``store=None``): keeps every batch on the host, in compact numpy arrays."""
from __future__ import annotations

import copy
from typing import Any

from .base import Batch
from .run_data import RunData
from .tables import assemble, latest_findings


class MemoryStore:
    """Keeps a run in memory. ``run_data()`` gives the same :class:`RunData` a SQLite store would."""

    path: str | None = None

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.layers: list[dict[str, Any]] = []
        self.batches: list[Batch] = []
        self.findings: list[dict[str, Any]] = []  # every batch ever added; run_data() shows the latest ones
        self._batch_of: list[int] = []  # the batch of each finding
        self._latest: dict[str, int] = {}  # source -> its latest batch
        self._batches = 0

    def begin(self, meta: dict[str, Any], layers: list[dict[str, Any]]) -> None:
        self.meta = copy.deepcopy(meta)
        self.layers = copy.deepcopy(layers)

    def update_meta(self, meta: dict[str, Any]) -> None:
        self.meta.update(copy.deepcopy(meta))

    def update_layers(self, layers: list[dict[str, Any]]) -> None:
        self.layers = copy.deepcopy(layers)

    def write(self, batch: Batch) -> None:
        self.batches.append(batch)

    def add_findings(self, findings: list[dict[str, Any]], source: str) -> None:
        """One batch: it replaces the previous batch of ``source`` in ``run_data().findings``."""
        self._batches += 1
        self._latest[source] = self._batches
        self.findings.extend({**f, "source": source} for f in findings)
        self._batch_of.extend(self._batches for _ in findings)

    def close(self, status: str) -> None:
        self.meta["status"] = status

    def run_data(self) -> RunData:
        shown = latest_findings(((f["source"], b, f) for f, b in zip(self.findings, self._batch_of)), self._latest)
        return assemble(self.meta, self.layers, self.batches, shown, path=None, diagnosed=bool(self._latest))
