"""Statistics of recorded series that need no torch (the diagnosis and the read-only CLI commands use them)."""
from __future__ import annotations

from typing import Any

import numpy as np


def memory_horizon(profile: Any, factor: float = 1e-3) -> int | None:
    """Steps back from the loss until the per-step gradient norm falls below ``factor`` x its value at the end.

    ``profile`` holds norms ordered by time (the last entry is nearest the loss). Returns ``None`` when it
    never falls that far within the sequence (the horizon is at least the sequence length).
    """
    v = np.asarray(profile, dtype=float)
    if v.size == 0 or not np.isfinite(v[-1]) or v[-1] <= 0:
        return None
    ref = v[-1]
    for dist in range(1, v.size):
        if v[-1 - dist] < factor * ref:
            return dist
    return None
