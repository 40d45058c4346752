"""The per-layer table of a diagnosis: signal, gain, Nielsen factors, init audit, saturation, dead units."""
from __future__ import annotations

from typing import Any

import numpy as np

from .causes import factorise, init_audit
from .context import Context, fnum, nanmedian

#: Statistics copied into the table (column name -> statistic).
TABLE_STATS = {"signal": "signal_norm", "in_signal": "in_signal_norm", "grad_ratio": "grad_ratio",
               "update_ratio": "update_ratio", "act_mean": "act_mean", "act_rms": "act_rms",
               "act_deriv": "act_deriv", "saturated": "act_saturated", "dead": "act_dead",
               "nonfinite": "out_nonfinite"}


def layer_table(ctx: Context) -> list[dict[str, Any]]:
    """One row per layer in forward order. A check reports the median over its batches; a run, its last step
    (statistics taken on detail steps only: the last detail step)."""
    n = len(ctx.layers)
    if ctx.n_steps == 0:
        return [{"layer": layer.name, "type": layer.type} for layer in ctx.layers]
    if ctx.source == "check":
        vals = {k: nanmedian(ctx.stat(s), axis=1) for k, s in TABLE_STATS.items()}
        col = 0
    else:  # the last step; detail statistics from the last detail step within the last 50
        col = ctx.n_steps - 1
        vals = {k: ctx.last_finite(s, 50) for k, s in TABLE_STATS.items()}
    fac = {r["layer"]: r for r in factorise(ctx, col)}
    audit = {a["layer"]: a for a in init_audit(ctx, 0)}
    rows = []
    for i in range(n):
        layer = ctx.layers[i]
        row: dict[str, Any] = {"layer": layer.name, "type": layer.type, "activation": ctx.activation_kind(i)}
        for k in TABLE_STATS:
            row[k] = fnum(float(np.asarray(vals[k])[i]))
        f = fac.get(layer.name)
        row["gain"] = fnum(f["gain"]) if f else None
        row["weight_factor"] = fnum(f["weight_factor"]) if f else None
        row["activation_factor"] = fnum(f["activation_factor"]) if f else None
        a = audit.get(layer.name)
        row["init_factor"] = a["factor"] if a else None
        row["init_reference"] = a["reference"] if a else None
        row["init_verdict"] = a["verdict"] if a else None
        row["init_factor_range"] = a.get("factor_range") if a else None  # a run: the first update's bounds
        rows.append(row)
    return rows
