"""Figure helpers for the lab: matplotlib's object API (no pyplot, no global state, Agg canvas)."""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure


def figure(ncols: int = 1, width: float = 5.0, height: float = 3.6) -> tuple[Figure, list]:
    """A new figure with ``ncols`` side-by-side axes."""
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def save(fig: Figure, out: Path | None, name: str, written: list[str]) -> None:
    """Write ``fig`` to ``out/name.png`` (nothing when ``out`` is None) and record the path in ``written``."""
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    # metadata: without it matplotlib writes "Software: Matplotlib version X, https://matplotlib.org/" into the
    # PNG, a remote URL inside the lab report that loads nothing from the network (as present/plots.to_png)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    written.append(str(path))
