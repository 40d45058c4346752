"""Turning stored rows into :class:`RunData` arrays (shared by the SQLite and memory stores)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .base import Batch
from .run_data import LAYER_STATS, STEP_STATS, LayerInfo, RunData


def layer_infos(layers: list[dict[str, Any]]) -> tuple[list[LayerInfo], np.ndarray]:
    """LayerInfo objects in forward order, and the permutation from stored index order to forward order."""
    infos = [
        LayerInfo(index=int(d["index"]), name=str(d["name"]), type=str(d.get("type", "")),
                  activation=d.get("activation"), activation_module=d.get("activation_module"),
                  order=d.get("order"), info=d)
        for d in layers
    ]
    big = len(infos) + 1
    called = {i.name: i.order for i in infos if i.order is not None}

    def key(i: LayerInfo) -> tuple[int, int, int]:
        if i.order is not None:
            return (i.order, 0, i.index)
        # a layer the forward never called as a module (MultiheadAttention's out_proj, whose weight the attention
        # uses directly) goes right after its nearest called ancestor, not after the model's head
        parts = i.name.split(".")
        for k in range(len(parts) - 1, 0, -1):
            o = called.get(".".join(parts[:k]))
            if o is not None:
                return (o, 1, i.index)
        return (big, 0, i.index)

    infos.sort(key=key)
    perm = np.array([i.index for i in infos], dtype=np.int64)
    return infos, perm


def assemble(meta: dict[str, Any], layers: list[dict[str, Any]], batches: list[Batch],
             findings: list[dict[str, Any]], path: str | None, diagnosed: bool = False) -> RunData:
    """Concatenate batches into RunData, layers in forward order (``diagnosed``: see :class:`RunData`)."""
    infos, perm = layer_infos(layers)
    n_layers = len(infos)
    if batches:
        steps = np.concatenate([b.steps for b in batches]).astype(np.int64)
    else:
        steps = np.zeros(0, dtype=np.int64)
    layer_stats: dict[str, np.ndarray] = {}
    identity = bool(np.array_equal(perm, np.arange(n_layers)))
    for name in LAYER_STATS:
        parts = [b.layer_stats[name] for b in batches if name in b.layer_stats]
        if parts and len(parts) == len(batches):
            # one batch (a store read): its array transposed, not copied; layers reordered only when needed
            arr = (parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)).T  # layers x steps
            layer_stats[name] = arr[perm] if arr.shape[0] == n_layers and not identity else arr
        else:
            # Not recorded: all NaN, as one read-only NaN broadcast to the shape. A store of many layers and
            # steps records a handful of the statistics, and a real array each for the others multiplied the
            # memory of load_run several times over (2.8 GB for 200 MB of statistics).
            layer_stats[name] = np.broadcast_to(np.float32(np.nan), (n_layers, steps.size))
    step_stats: dict[str, np.ndarray] = {}
    for name in STEP_STATS:
        if name == "wall_time":
            parts = [b.wall_time for b in batches]
        else:
            parts = [b.step_stats.get(name, np.full(len(b), np.nan)) for b in batches]
        step_stats[name] = np.concatenate(parts) if parts else np.zeros(0)
    series: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    by_index = {i.index: i.name for i in infos}
    collected: dict[tuple[str, str], list[tuple[int, np.ndarray]]] = {}
    for b in batches:
        for step, li, sname, values in b.series:
            collected.setdefault((sname, by_index.get(li, str(li))), []).append((int(step), values))
    for (sname, lname), rows in collected.items():
        rows.sort(key=lambda r: r[0])
        width = max(r[1].size for r in rows)
        mat = np.full((len(rows), width), np.nan, dtype=np.float32)
        for k, (_, v) in enumerate(rows):
            mat[k, width - v.size:] = v  # align on the end of the sequence (nearest the loss)
        series.setdefault(sname, {})[lname] = (np.array([r[0] for r in rows], dtype=np.int64), mat)
    return RunData(layers=infos, steps=steps, layer_stats=layer_stats, step_stats=step_stats, series=series,
                   meta=dict(meta), findings=list(findings), path=path, diagnosed=diagnosed)


def latest_findings(rows: Iterable[tuple[str, float | None, dict[str, Any]]],
                    latest: Any = None) -> list[dict[str, Any]]:
    """The findings to show: those of the latest batch of each source, in stored order, each with its source.

    Every call that stores findings is one batch (one diagnosis); its rows share a ``created`` value that no
    earlier batch of the same source has. Earlier batches stay in the store (an audit record) but are not
    shown, so diagnosing a run repeatedly never multiplies its findings.

    Args:
        rows: (source, created, finding) in stored order.
        latest: source -> ``created`` of its latest batch, as stored with the run; it also marks a batch that
            found nothing (which leaves no row, and must hide the batch before it). A source without an entry
            (stores written before it was recorded) shows its rows of the largest ``created``.
    """
    rows = list(rows)
    newest: dict[str, float] = {}
    for src, created, _ in rows:
        if created is not None and (src not in newest or created > newest[src]):
            newest[src] = created
    if isinstance(latest, dict):
        newest.update({k: float(v) for k, v in latest.items() if isinstance(v, (int, float))})
    return [{**f, "source": src} for src, created, f in rows if src not in newest or created == newest[src]]
