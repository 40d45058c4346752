"""Schedules: plain callables ``step -> bool`` that say which optimizer steps are recorded."""
from __future__ import annotations

import numbers
from collections.abc import Callable

Schedule = Callable[[int], bool]


def every(n: int) -> Schedule:
    """Record every ``n``-th step (0, n, 2n, ...)."""
    if n < 1:
        raise ValueError(f"every must be a positive integer, got {n}")
    return lambda step: step % n == 0


def warmup_then(first: int, n: int) -> Schedule:
    """Record the first ``first`` steps, then every ``n``-th."""
    return lambda step: step < first or step % n == 0


#: Named presets. "full": every step; "economy": the first 20 steps, then every 10th (problems that start at
#: step 0, like a bad initialisation, are seen in full); "sparse": the first 10, then every 100th.
PRESETS: dict[str, Schedule] = {
    "full": every(1),
    "economy": warmup_then(20, 10),
    "sparse": warmup_then(10, 100),
}


def make_schedule(spec: int | str | Schedule) -> Schedule:
    """Turn ``every=`` (an int, a preset name or a callable) into a schedule."""
    if isinstance(spec, bool):
        raise ValueError("every must be an int, a preset name or a callable step -> bool")
    if isinstance(spec, numbers.Integral):  # numpy integers too (every = np.int64(total // 100))
        return every(int(spec))
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise ValueError(f"unknown schedule preset {spec!r}; choose one of {', '.join(PRESETS)}")
        return PRESETS[spec]
    if callable(spec):
        return spec
    raise ValueError(f"every must be an int, a preset name or a callable step -> bool, got {type(spec).__name__} "
                     f"{spec!r}")
