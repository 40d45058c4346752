"""non_finite: where the first NaN/Inf appears (module, input or loss) and, during training, when."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..causes import FIRST_UPDATE_TOO_LARGE, rank_remedies
from ..context import Context, fnum, nanmedian
from ..findings import Finding
from .base import Detector, register


@register
class NonFinite(Detector):
    """In a check: the origin found by forward hooks on every module (the first module, in forward execution
    order, whose output holds NaN/Inf), ``"<input>"`` when the batch already does, ``"<loss>"`` when only the
    loss does, and the first numerically unsafe op (log, sqrt, division, exp, pow...) whose output is
    non-finite while its inputs are finite. In a run: the first step with a non-finite loss, layer output or
    gradient, and the first layer (forward order) with a non-finite output at that step.

    Any NaN/Inf is a problem, so there is no threshold; ``growth_window`` sets how many steps before the first
    non-finite one are searched for a gradient-norm growth (which makes the learning rate the likely cause).

    Args:
        growth_window: steps before the first non-finite step examined for growth (5).
        growth_factor: gradient-norm growth over that window that points at the learning rate (10).
    """

    name = "non_finite"

    def __init__(self, growth_window: int = 5, growth_factor: float = 10.0) -> None:
        self.growth_window = growth_window
        self.growth_factor = growth_factor

    def detect(self, ctx: Context) -> list[Finding]:
        if ctx.source == "check":
            return self._from_check(ctx)
        return self._from_run(ctx)

    # ------------------------------------------------------------------ check
    def _from_check(self, ctx: Context) -> list[Finding]:
        nf = ctx.extra.get("nonfinite") or {}
        origin = nf.get("origin")
        if origin is None and not nf.get("gradients"):
            return []
        ev: dict[str, Any] = {k: v for k, v in nf.items() if k != "origin"}
        causes: list[str] = []
        if origin == "<input>":
            causes.append("non_finite_inputs")
        if nf.get("unsafe_op"):
            causes.append("unsafe_op")
        if origin not in (None, "<input>", "<loss>") and not nf.get("unsafe_op"):
            causes.append("init_scale_too_large")
        if not causes:
            causes.append("unknown")
        layers = [origin] if origin and not origin.startswith("<") else []
        if origin is None and ctx.n_steps:  # only the gradients: name their layers, as a run does
            gnf = np.nan_to_num(ctx.stat("grad_nonfinite")).max(axis=1)
            ev["layers_nonfinite_grad"] = [ctx.layers[i].name for i in range(len(ctx.layers)) if gnf[i] > 0]
            layers = list(ev["layers_nonfinite_grad"])
        where = origin or "the gradients"
        msg = f"the first NaN/Inf appears at {where}"
        if nf.get("unsafe_op"):
            op = nf["unsafe_op"]
            msg += f", produced by {op.get('op')} inside {op.get('module')}"
        return [Finding(kind="non_finite", severity="critical", layers=layers, origin=origin, evidence=ev,
                        causes=causes, remedies=rank_remedies(causes, "non_finite"), message=msg,
                        detector=self.name)]

    # ------------------------------------------------------------------ run
    def _from_run(self, ctx: Context) -> list[Finding]:
        if ctx.n_steps == 0:
            return []
        loss = ctx.step_stat("loss")
        ngrad = ctx.step_stat("nonfinite_grads")
        out_nf = ctx.stat("out_nonfinite")
        act_nf = ctx.stat("act_nonfinite")
        with np.errstate(invalid="ignore"):
            # NaN (not measured) compares False, Inf True: no float copy of the layers x steps arrays
            layer_bad = (out_nf > 0) | (act_nf > 0)
            loss_bad = ctx.loss_nonfinite()
            grad_bad = np.nan_to_num(ngrad) > 0
        any_bad = layer_bad.any(axis=0) | loss_bad | grad_bad
        cols = np.where(any_bad)[0]
        if cols.size == 0:
            return []
        c = int(cols[0])
        bad_layers = [i for i in range(len(ctx.layers)) if layer_bad[i, c]]
        if bad_layers:
            origin = ctx.layers[bad_layers[0]].name
        elif loss_bad[c]:
            origin = "<loss>"
        else:
            origin = None
        ev: dict[str, Any] = {"first_step": int(ctx.steps[c]), "loss": fnum(loss[c]),
                              "nonfinite_grads": fnum(ngrad[c]),
                              "layers_nonfinite_output": [ctx.layers[i].name for i in bad_layers]}
        if origin is None:
            gnf = ctx.stat("grad_nonfinite")[:, c]
            ev["layers_nonfinite_grad"] = [ctx.layers[i].name for i in range(len(ctx.layers))
                                           if np.isfinite(gnf[i]) and gnf[i] > 0]
        causes: list[str] = []
        g = ctx.step_stat("total_grad_norm")
        lo = max(0, c - self.growth_window)
        prev = g[lo:c]
        prev = prev[np.isfinite(prev)]
        if prev.size >= 2 and prev[-1] > self.growth_factor * prev[0]:
            causes.append("learning_rate_too_high")
            ev["grad_norm_growth_before"] = fnum(prev[-1] / prev[0])
        upd = ctx.stat("update_ratio")
        if upd.shape[1] and nanmedian(upd[:, 0]) > FIRST_UPDATE_TOO_LARGE and "learning_rate_too_high" not in causes:
            causes.append("learning_rate_too_high")
        if not causes:
            causes.append("unknown")
        layers = [ctx.layers[i].name for i in bad_layers] or ev.get("layers_nonfinite_grad", [])
        return [Finding(kind="non_finite", severity="critical", layers=layers, origin=origin,
                        step=int(ctx.steps[c]), evidence=ev, causes=causes,
                        remedies=rank_remedies(causes, "exploding_gradient"),
                        message=f"the first NaN/Inf appears at step {int(ctx.steps[c])}"
                                + (f" in {origin}" if origin else " in the gradients"), detector=self.name)]
