"""Choosing which recorded steps to draw, and reading only those from a store.

A run of 1,000 layers x 100,000 steps holds 100 million numbers per statistic: far more than a page or a
figure can show. The present layer draws at most :data:`MAX_DISPLAY_STEPS` evenly spaced steps of the
per-layer statistics (always the first and the last, and every step with a non-finite loss or gradient) and
says so on the page. Per-step curves (loss, total gradient norm) are cheap and are read in full.

This module never computes statistics: it selects columns of what the store recorded.
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..store.base import Batch
from ..store.run_data import LAYER_STATS, RunData
from ..store.sqlite import _unblob, read_meta_and_findings, read_store, was_diagnosed
from ..store.tables import assemble

#: Most recorded steps of per-layer statistics that a report draws. 1,000 columns keep a layer x step
#: heatmap sharp at laptop width and a 1,000-layer run under ~100 MB of memory while rendering.
MAX_DISPLAY_STEPS = 1000
#: Most non-finite steps that are forced into the displayed selection (beyond it they are still marked on the
#: per-step curves, which are read in full).
MAX_FORCED_STEPS = 200


@dataclass
class Sampling:
    """Which of the recorded steps a view shows.

    Attributes:
        total_steps: steps the run recorded.
        shown_steps: steps drawn for per-layer statistics.
        max_steps: the limit that was applied.
        curve_steps: every recorded step number (for the per-step curves).
        curves: per-step statistics (loss, total_grad_norm, nonfinite_grads, wall_time) at every recorded step.
    """

    total_steps: int
    shown_steps: int
    max_steps: int
    curve_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    curves: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def downsampled(self) -> bool:
        """True when some recorded steps are not drawn."""
        return self.shown_steps < self.total_steps

    def note(self) -> str:
        """One sentence for the page, empty when every step is shown."""
        if not self.downsampled:
            return ""
        return (f"This run recorded {self.total_steps:,} steps; per-layer figures and tables show "
                f"{self.shown_steps:,} evenly spaced steps of them (the first, the last and every step with a "
                f"non-finite value included). Loss and total gradient norm curves use every step.")


def select_indices(n: int, max_steps: int = MAX_DISPLAY_STEPS, forced: np.ndarray | None = None,
                   detail_every: int = 1) -> np.ndarray:
    """Indices (ascending, unique) of at most about ``max_steps`` evenly spaced positions in ``range(n)``.

    Args:
        n: number of recorded steps.
        max_steps: how many to keep (at least 2).
        forced: positions to keep in any case (at most :data:`MAX_FORCED_STEPS` of them are added).
        detail_every: the run's ``detail_every``: positions ``0, k, 2k, ...`` are its detail steps, the only
            ones that hold the activation statistics, weight norms and update ratios. They are chosen first
            (all of them when they fit, else evenly spaced among them), so that those statistics are drawn from
            as many steps as the limit allows; evenly spaced positions among the others fill the rest. Plain
            evenly spaced positions kept about one detail step in ``k``: 17 of 300 drawn steps of a
            3,000-step run held an update ratio, where all 300 could.

    Raises:
        ValueError: ``max_steps`` is below 2.
    """
    if max_steps < 2:
        raise ValueError(f"max_steps must be at least 2 (the first and the last step), got {max_steps}")
    if n <= max_steps:
        return np.arange(n, dtype=np.int64)
    k = max(1, int(detail_every))
    detail = np.arange(0, n, k, dtype=np.int64)
    if k == 1 or detail.size >= max_steps - 1:
        pool = detail if k > 1 else np.arange(n, dtype=np.int64)
        idx = pool[np.unique(np.linspace(0, pool.size - 1, max_steps - 1).round().astype(np.int64))]
        idx = np.union1d(idx, [0, n - 1])
    else:  # every detail step, and evenly spaced others up to the limit
        rest = np.setdiff1d(np.arange(n, dtype=np.int64), detail, assume_unique=True)
        extra = max_steps - detail.size - 1
        fill = rest[np.unique(np.linspace(0, rest.size - 1, extra).round().astype(np.int64))] if extra > 0 else []
        idx = np.union1d(np.union1d(detail, fill), [n - 1])
    if forced is not None and np.asarray(forced).size:
        idx = np.union1d(idx, np.asarray(forced, dtype=np.int64)[:MAX_FORCED_STEPS])
    return idx


def _detail_every(meta: dict[str, Any]) -> int:
    settings = meta.get("settings")
    value = settings.get("detail_every", 1) if isinstance(settings, dict) else 1
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1


def nonfinite_positions(step_stats: dict[str, np.ndarray]) -> np.ndarray:
    """Positions of steps whose loss or total gradient norm is infinite/NaN-by-overflow, or whose gradients
    held non-finite entries. A missing loss (NaN because none was logged) does not count."""
    masks = []
    nfg = step_stats.get("nonfinite_grads")
    if nfg is not None and nfg.size:
        masks.append(np.nan_to_num(nfg, nan=0.0) > 0)
    for key in ("loss", "total_grad_norm"):
        v = step_stats.get(key)
        if v is not None and v.size:
            masks.append(np.isinf(v))
    if not masks:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.logical_or.reduce(masks))


#: Steps are stored as SQLite INTEGERs (signed 64-bit): a number outside this range (``--step 1e20`` typed by hand,
#: a ``--window`` that large) can never be a recorded step or a row count, and numpy and SQLite overflow on it.
INT64_MAX = 2**63 - 1


def _forced(steps: np.ndarray, step_stats: dict[str, np.ndarray], include: list[int] | None) -> np.ndarray:
    forced = nonfinite_positions(step_stats)
    include = [int(s) for s in include or [] if -INT64_MAX <= int(s) <= INT64_MAX]
    if include:
        pos = np.searchsorted(steps, np.asarray(include, dtype=np.int64))
        ok = (pos < steps.size) & (steps[np.minimum(pos, steps.size - 1)] == np.asarray(include)) if steps.size \
            else np.zeros(0, dtype=bool)
        forced = np.union1d(pos[ok], forced)
    return forced


def _tail(data: RunData, n: int) -> RunData:
    k = max(0, data.n_steps - n)
    return RunData(layers=data.layers, steps=data.steps[k:], layer_stats={a: v[:, k:] for a, v in
                   data.layer_stats.items()}, step_stats={a: v[k:] for a, v in data.step_stats.items()},
                   series=data.series, meta=data.meta, findings=data.findings, path=data.path,
                   diagnosed=data.diagnosed)


def downsample(data: RunData, max_steps: int = MAX_DISPLAY_STEPS,
               include: list[int] | None = None) -> tuple[RunData, Sampling]:
    """A view of ``data`` whose per-layer statistics keep at most ``max_steps`` steps (and the ``include``d
    step numbers). Per-step statistics are subsampled alike; the full curves stay in the returned Sampling.
    """
    n = data.n_steps
    idx = select_indices(n, max_steps, _forced(data.steps, data.step_stats, include), _detail_every(data.meta))
    sampling = Sampling(total_steps=n, shown_steps=int(idx.size), max_steps=max_steps,
                        curve_steps=data.steps, curves=dict(data.step_stats))
    if not sampling.downsampled:
        return data, sampling
    view = RunData(layers=data.layers, steps=data.steps[idx],
                   layer_stats={k: v[:, idx] for k, v in data.layer_stats.items()},
                   step_stats={k: v[idx] if v.size == n else v for k, v in data.step_stats.items()},
                   series=data.series, meta=data.meta, findings=data.findings, path=data.path,
                   diagnosed=data.diagnosed)
    return view, sampling


def load_for_display(source: RunData | str | os.PathLike[str], max_steps: int = MAX_DISPLAY_STEPS, *,
                     include: list[int] | None = None, tail: int | None = None) -> tuple[RunData, Sampling]:
    """Read a run for drawing: per-layer statistics at most at ``max_steps`` steps, per-step ones in full.

    Args:
        source: a :class:`RunData` or the path of a run store (only the selected steps are read from disk,
            so a 1,000-layer x 100,000-step store loads in seconds).
        max_steps: how many steps of per-layer statistics to keep.
        include: step numbers to keep in any case (when recorded).
        tail: keep only the last ``tail`` recorded steps (a live view's window); per-step curves too.

    Returns:
        (the RunData to draw, consistent in itself: every array holds the selected steps only; the
        :class:`Sampling` that says what was left out and holds the per-step curves at every step).

    Raises:
        StoreError: the path is not a readable graddoctor run store.
    """
    if isinstance(source, RunData):
        if tail is not None:
            source = _tail(source, tail)
        return downsample(source, max_steps, include)
    return read_store(source, lambda con, path: _read_sampled(con, path, max_steps, include, tail))


def _read_sampled(con: sqlite3.Connection, path: str, max_steps: int, include: list[int] | None,
                  tail: int | None) -> tuple[RunData, Sampling]:
    import json

    meta, findings = read_meta_and_findings(con)
    layers = [json.loads(info) for (info,) in con.execute("SELECT info FROM layers ORDER BY idx")]
    q = "SELECT step, wall_time, loss, total_grad_norm, nonfinite_grads FROM steps ORDER BY step"
    if tail is not None:
        q = f"SELECT * FROM ({q} DESC LIMIT {min(int(tail), INT64_MAX)}) ORDER BY step"
    rows = con.execute(q).fetchall()
    all_steps = np.array([r[0] for r in rows], dtype=np.int64)

    def col(k: int) -> np.ndarray:
        return np.array([np.nan if r[k] is None else r[k] for r in rows], dtype=np.float64)

    step_stats = {"loss": col(2), "total_grad_norm": col(3), "nonfinite_grads": col(4), "wall_time": col(1)}
    idx = select_indices(all_steps.size, max_steps, _forced(all_steps, step_stats, include), _detail_every(meta))
    steps = all_steps[idx]
    con.execute("CREATE TEMP TABLE IF NOT EXISTS gd_show(step INTEGER PRIMARY KEY)")
    con.execute("DELETE FROM gd_show")
    con.executemany("INSERT INTO gd_show VALUES (?)", [(int(s),) for s in steps])
    n_layers = len(layers)
    layer_stats: dict[str, np.ndarray] = {}
    # one index seek per known statistic (SELECT DISTINCT would scan every blob of a multi-GB table)
    stats = [k for k in LAYER_STATS
             if con.execute("SELECT 1 FROM layer_stats WHERE stat = ? LIMIT 1", (k,)).fetchone() is not None]
    for stat in stats:
        arr = np.full((steps.size, n_layers), np.nan, dtype=np.float32)
        q = ("SELECT l.step, l.data FROM gd_show s JOIN layer_stats l ON l.stat = ? AND l.step = s.step")
        for s, blob in con.execute(q, (stat,)):
            v = _unblob(blob)
            pos = int(np.searchsorted(steps, s))
            arr[pos, : min(v.size, n_layers)] = v[:n_layers]
        layer_stats[stat] = arr
    series = _read_series(con, steps)
    batch = Batch(steps=steps, wall_time=step_stats["wall_time"][idx], layer_stats=layer_stats,
                  step_stats={k: v[idx] for k, v in step_stats.items() if k != "wall_time"}, series=series)
    data = assemble(meta, layers, [batch] if steps.size or series else [], findings, path=path,
                    diagnosed=was_diagnosed(con))
    total = int(all_steps.size) if tail is None else int(con.execute("SELECT COUNT(*) FROM steps").fetchone()[0])
    sampling = Sampling(total_steps=total, shown_steps=int(steps.size), max_steps=max_steps,
                        curve_steps=all_steps, curves=step_stats)
    return data, sampling


def _read_series(con: sqlite3.Connection, steps: np.ndarray) -> list[tuple[int, int, str, Any]]:
    """Series rows at the selected steps (every row when the series were recorded at other steps)."""
    out = [(int(step), int(layer), name, _unblob(blob).copy()) for name, layer, step, blob in con.execute(
        "SELECT l.name, l.layer, l.step, l.data FROM gd_show s JOIN series l ON l.step = s.step")]
    if out:
        return out
    n = con.execute("SELECT COUNT(*) FROM series").fetchone()[0]
    if n == 0:
        return []
    stride = max(1, n // (MAX_DISPLAY_STEPS * 4))
    return [(int(step), int(layer), name, _unblob(blob).copy()) for k, (name, layer, step, blob) in
            enumerate(con.execute("SELECT name, layer, step, data FROM series ORDER BY step")) if k % stride == 0]



#: Per-layer statistics the Monitor records on *every* recorded step (docs/statistics.md). A NaN of theirs at a
#: step is what that step measured (a NaN gradient or output), never "taken on detail steps only", so a view
#: never replaces it by an older finite value.
EVERY_STEP_STATS = frozenset({"weight_grad_norm", "bias_grad_norm", "signal_norm", "signal_rms", "out_mean",
                              "out_nonfinite", "grad_nonfinite"})


def latest_values(data: RunData, names: list[str], step: int | None = None
                  ) -> tuple[dict[str, np.ndarray], dict[str, int | None]]:
    """Per statistic, its per-layer values at ``step`` (default: the last recorded step), and the step each
    came from. With ``step=None``, a statistic taken on detail steps only (the activation statistics, the
    weight norm and update) is read at the last detail step, when the last recorded step is not one.

    A statistic recorded on every step is always read at the last step, NaN or not: a run whose gradients
    turned NaN shows them as such (with the non-finite note), never the last finite values from before.
    """
    values: dict[str, np.ndarray] = {}
    came_from: dict[str, int | None] = {}
    # Detail steps the Monitor marks even when every value of them is NaN: act_nonfinite is a fraction, finite
    # on each detail step whatever the activations held (all-NaN activations give 1).
    marker = data.layer_stats.get("act_nonfinite")
    detail = (~np.isnan(marker).all(axis=0) if marker is not None and marker.shape[1] == data.n_steps
              else np.zeros(data.n_steps, dtype=bool))
    for name in names:
        arr = data.layer_stats.get(name)
        if arr is None or not data.n_steps:
            values[name], came_from[name] = np.full(len(data.layers), np.nan), None
            continue
        col = int(np.searchsorted(data.steps, step)) if step is not None else data.n_steps - 1
        col = min(col, data.n_steps - 1)
        if step is None and name not in EVERY_STEP_STATS and np.isnan(arr[:, col]).all():
            # the last step where it was measured: it holds a value (Inf counts), or it was a detail step
            cols = np.flatnonzero(~np.isnan(arr).all(axis=0) | detail)
            col = int(cols[-1]) if cols.size and not np.isnan(arr).all() else col
        values[name], came_from[name] = arr[:, col], int(data.steps[col])
    return values, came_from


def nonfinite_note(data: RunData, step: int | None) -> str:
    """Says when the shown step recorded NaN/Inf gradients or outputs: tables print non-finite values as
    "-", which would otherwise read as "not recorded"."""
    if step is None or not data.n_steps:
        return ""
    col = min(int(np.searchsorted(data.steps, step)), data.n_steps - 1)
    counts = {what: int(np.sum(np.nan_to_num(arr[:, col]) > 0)) for what, arr in
              (("gradients", data.layer_stats.get("grad_nonfinite")), ("outputs", data.layer_stats.get("out_nonfinite")))
              if arr is not None}
    parts = [f"{what} of {n} layer(s)" for what, n in counts.items() if n]
    return (f"NaN/Inf at step {step} in the {' and the '.join(parts)}: a '-' in their rows can be a non-finite "
            "value, not only a missing one") if parts else ""


def detail_note(data: RunData, step: int | None, labels: dict[str, str]) -> str:
    """Says which shown statistics a chosen ``step`` did not measure because they are taken on detail steps only
    (every ``detail_every``-th recorded step), and the nearest steps that did: their "-" read as missing data,
    with no hint that ``--step 10`` would show them."""
    if step is None or not data.n_steps:
        return ""
    col = int(np.searchsorted(data.steps, step))
    if col >= data.n_steps or int(data.steps[col]) != step:
        return ""
    missing: list[str] = []
    near: set[int] = set()
    for name, label in labels.items():
        arr = data.layer_stats.get(name)
        if name in EVERY_STEP_STATS or arr is None or not np.isnan(arr[:, col]).all():
            continue
        cols = np.flatnonzero(~np.isnan(arr).all(axis=0))
        if not cols.size:
            continue
        missing.append(label)
        before, after = cols[cols < col], cols[cols > col]
        near.update(int(data.steps[c]) for c in (before[-1:].tolist() + after[:1].tolist()))
    if not missing:
        return ""
    return (f"{', '.join(missing)} not measured at step {step}: taken on detail steps only, e.g. step"
            f"{'s' if len(near) > 1 else ''} {' and '.join(str(s) for s in sorted(near))}")


def earlier_note(came_from: dict[str, int | None], shown: int | None, labels: dict[str, str]) -> str:
    """``"act mean, act p2 from step 140 (the last step that recorded them)"`` for statistics read at an
    earlier step than ``shown``; empty when none was."""
    groups: dict[int, list[str]] = {}
    for name, s in came_from.items():
        if s is not None and shown is not None and s != shown:
            groups.setdefault(s, []).append(labels.get(name, name))
    return "; ".join(f"{', '.join(v)} from step {k} (the last step that recorded them)" for k, v in groups.items())
