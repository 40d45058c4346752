"""The records a watched run produces, and the protocol every store implements."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass
class Batch:
    """Records of several steps, written in one transaction.

    Attributes:
        steps: optimizer step numbers (n,).
        wall_time: seconds since the run started (n,).
        loss: loss per step, NaN when not given (n,).
        layer_stats: statistic -> array (n, layers) in layer-index order.
        step_stats: statistic -> array (n,).
        series: (step, layer index, series name, values) tuples.
    """

    steps: np.ndarray
    wall_time: np.ndarray
    layer_stats: dict[str, np.ndarray]
    step_stats: dict[str, np.ndarray]
    series: list[tuple[int, int, str, np.ndarray]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.steps.size)


class Store(Protocol):
    """What the Monitor writes through. SQLiteStore and MemoryStore implement it."""

    path: str | None

    def begin(self, meta: dict[str, Any], layers: list[dict[str, Any]]) -> None: ...
    def update_meta(self, meta: dict[str, Any]) -> None: ...
    def update_layers(self, layers: list[dict[str, Any]]) -> None: ...
    def write(self, batch: Batch) -> None: ...
    def add_findings(self, findings: list[dict[str, Any]], source: str) -> None:
        """One batch of findings: ``run_data().findings`` shows it instead of the previous batch of ``source``."""
    def close(self, status: str) -> None: ...
