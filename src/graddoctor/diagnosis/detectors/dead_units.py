"""dead_units: ReLU-family units that output zero for every sample."""
from __future__ import annotations

import numpy as np

from ..causes import FIRST_UPDATE_TOO_LARGE, rank_remedies
from ..context import Context, fnum, nanmedian
from ..depth import window_cols
from ..findings import Finding
from .base import Detector, register


@register
class DeadUnits(Detector):
    """Per layer, the fraction of ReLU/ReLU6 units that are zero for every sample of a batch (``act_dead``).
    Over a run, the smallest fraction over the last ``window`` steps (a unit must be dead in every examined
    batch; a unit that fired once in the window is not counted); in a check, over its batches.

    Args:
        fraction: dead fraction of a layer that is a problem: 0.5 (SageMaker Debugger's DeadRelu flags a layer
            when more than half of it is inactive; AutoTrainer and DeepDiagnosis use 70 % of gradient entries
            or outputs, a looser per-entry measure).
        critical_fraction: 0.9: the layer keeps a tenth of its width.
        window: recorded steps examined at the end of a run.
    """

    name = "dead_units"

    def __init__(self, fraction: float = 0.5, critical_fraction: float = 0.9, window: int = 10) -> None:
        self.fraction = fraction
        self.critical_fraction = critical_fraction
        self.window = window

    def detect(self, ctx: Context) -> list[Finding]:
        cols = window_cols(ctx, self.window)
        if not cols:
            return []
        if ctx.source == "run" and len(cols) > 1:
            cols = cols[1:]
        dead = ctx.stat("act_dead")[:, cols]
        with np.errstate(all="ignore"):
            low = np.where(np.isfinite(dead).any(axis=1), np.nanmin(np.where(np.isfinite(dead), dead, np.inf),
                                                                     axis=1), np.nan)
        hit = [i for i in range(len(ctx.layers)) if np.isfinite(low[i]) and low[i] >= self.fraction]
        if not hit:
            return []
        worst = float(max(low[i] for i in hit))
        all_dead = ctx.stat("act_dead")[hit]
        over = np.where((all_dead >= self.fraction).any(axis=0))[0]
        col = int(over[0]) if over.size else cols[0]
        causes: list[str] = []
        upd = ctx.stat("update_ratio")
        first_upd = nanmedian(upd[:, 0]) if ctx.source == "run" and upd.shape[1] else float("nan")
        dead0 = ctx.stat("act_dead")[hit, 0]
        born_dead = bool(np.isfinite(dead0).all() and (dead0 >= self.fraction).all())
        if ctx.source == "run" and not born_dead:
            causes.append("high_learning_rate_relu")
        if np.isfinite(first_upd) and first_upd > FIRST_UPDATE_TOO_LARGE:
            causes.append("learning_rate_too_high")
        if not causes:
            causes.append("unknown")
        ev = {"dead_fraction": {ctx.layers[i].name: fnum(low[i]) for i in hit}, "dead_at_first_step": born_dead,
              "first_update_ratio": fnum(first_upd)}
        remedies = rank_remedies(causes, "dead_units")
        for r in ("use_leaky_relu", "he_init", "add_batchnorm"):
            if r not in remedies:
                remedies.append(r)
        return [Finding(kind="dead_units", severity="critical" if worst >= self.critical_fraction else "warning",
                        layers=[ctx.layers[i].name for i in hit], step=ctx.step_of(col), evidence=ev,
                        causes=causes, remedies=remedies,
                        message=f"{len(hit)} ReLU layer(s) have at least {self.fraction:.0%} of their units "
                                f"zero for every sample (worst {worst:.0%})", detector=self.name)]
