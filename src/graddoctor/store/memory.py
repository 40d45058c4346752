"""In-memory store (``store=None``): keeps every batch on the host, in compact numpy arrays."""
from __future__ import annotations

import copy
from typing import Any

from .base import Batch
from .run_data import RunData
from .tables import assemble


class MemoryStore:
    """Keeps a run in memory. ``run_data()`` gives the same :class:`RunData` a SQLite store would."""

    path: str | None = None

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.layers: list[dict[str, Any]] = []
        self.batches: list[Batch] = []
        self.findings: list[dict[str, Any]] = []

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
        self.findings.extend({**f, "source": source} for f in findings)

    def close(self, status: str) -> None:
        self.meta["status"] = status

    def run_data(self) -> RunData:
        return assemble(self.meta, self.layers, self.batches, self.findings, path=None)
