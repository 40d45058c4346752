"""saturation: units of sigmoid/tanh-family activations in the flat region, and Glorot's pinned top layer."""
from __future__ import annotations

import numpy as np

from ...stats.kinds import SATURATING
from ..causes import (
    FIRST_UPDATE_TOO_LARGE,
    WEIGHTS_GROWN,
    init_audit,
    input_stats,
    inputs_unnormalized,
    rank_remedies,
    trained_weight_growth,
)
from ..context import Context, fnum, nanmedian
from ..depth import window_cols
from ..findings import Finding
from .base import Detector, register

#: Maximum derivative of the smooth saturating activations (sigma' <= 1/4; tanh', softsign' <= 1).
DERIV_MAX = {"sigmoid": 0.25, "tanh": 1.0, "softsign": 1.0}


@register
class Saturation(Detector):
    """Per layer, the fraction of activation outputs whose derivative is below 1 % of its maximum
    (``act_saturated``; the region is defined in :mod:`graddoctor.stats.activations`), as the median over the
    examined steps. Plus Glorot & Bengio's (2010, Fig. 2) pattern: the top sigmoid hidden layer driven to 0
    while the layers below stay near 0.5.

    Args:
        fraction: saturated fraction of a layer that is a problem, 0.5 (DeepDiagnosis and SageMaker Debugger
            both flag a layer when more than half of it is saturated).
        critical_fraction: 0.9: nine units in ten pass (almost) no gradient.
        pinned_mean: mean output of the top sigmoid layer counted as "pinned at 0": 0.1 (at 0.1 sigma' is
            0.09, a third of its maximum, and Glorot's Fig. 2 shows the top layer near 0 while the others
            stay > 0.5).
        others_mean: the other sigmoid layers must average at least this for the Glorot pattern (0.3).
        window: recorded steps examined at the end of a run (plus the first).
        low_deriv: partial saturation: the mean derivative of a sigmoid/tanh/softsign layer below this
            fraction of its maximum (0.4: at Xavier init a sigmoid layer averages ~0.9 of its maximum 1/4 on
            normalized inputs) in at least half of those layers, *and* those layers started with weights
            ``too_large`` x their variance-preserving scale (the init audit's 10x): each layer then passes
            less than 0.4 of the gradient Xavier's scale would let through while fewer than half of its units
            are fully flat. Found by the repair benchmark: a 4-layer sigmoid MLP with N(0, 1) weights (64x
            Xavier) sat at 16-32 % saturated units, mean derivative 0.07-0.09, 65 % accuracy, and no finding.
    """

    name = "saturation"

    def __init__(self, fraction: float = 0.5, critical_fraction: float = 0.9, pinned_mean: float = 0.1,
                 others_mean: float = 0.3, window: int = 10, low_deriv: float = 0.4) -> None:
        self.low_deriv = low_deriv
        self.fraction = fraction
        self.critical_fraction = critical_fraction
        self.pinned_mean = pinned_mean
        self.others_mean = others_mean
        self.window = window

    def detect(self, ctx: Context) -> list[Finding]:
        cols = window_cols(ctx, self.window)
        if not cols:
            return []
        cols = cols[1:] if len(cols) > 1 and ctx.source == "run" else cols  # the recent window of a run
        sat = nanmedian(ctx.stat("act_saturated")[:, cols], axis=1)
        mean = nanmedian(ctx.stat("act_mean")[:, cols], axis=1)
        out = []
        hit = [i for i in range(len(ctx.layers)) if np.isfinite(sat[i]) and sat[i] >= self.fraction]
        if hit:
            worst = float(max(sat[i] for i in hit))
            first = self._first_col(ctx, hit)
            out.append(self._finding(ctx, hit, "critical" if worst >= self.critical_fraction else "warning",
                                     {"pattern": "flat_region", "saturated_fraction":
                                      {ctx.layers[i].name: fnum(sat[i]) for i in hit}}, first))
        if not hit:
            low = self._low_derivative(ctx, cols)
            if low is not None:
                out.append(self._finding(ctx, low[0], "warning", low[1], self._low_onset(ctx, low[0], cols[0])))
        # Hidden layers followed by a sigmoid *module* (a functional sigmoid's act_mean is its input's mean).
        sig = [i for i in ctx.chain()[:-1] if ctx.layers[i].activation == "sigmoid"]
        if len(sig) >= 2:
            top, rest = sig[-1], sig[:-1]
            rest_mean = float(np.nanmean(mean[rest])) if np.isfinite(mean[rest]).any() else float("nan")
            if np.isfinite(mean[top]) and mean[top] < self.pinned_mean and rest_mean >= self.others_mean \
                    and top not in hit:
                out.append(self._finding(ctx, [top], "warning",
                                         {"pattern": "top_sigmoid_pinned_at_zero", "top_mean": fnum(mean[top]),
                                          "other_layers_mean": fnum(rest_mean)}, cols[-1]))
        return out

    def _low_derivative(self, ctx: Context, cols: list[int]) -> tuple[list[int], dict] | None:
        """Most smooth saturating layers pass little gradient and started with oversized weights."""
        layers = [i for i in ctx.chain()[:-1] if ctx.activation_kind(i) in DERIV_MAX]
        if not layers:
            return None
        deriv = nanmedian(ctx.stat("act_deriv")[:, cols], axis=1)
        low = [i for i in layers if np.isfinite(deriv[i])
               and deriv[i] < self.low_deriv * DERIV_MAX[str(ctx.activation_kind(i))]]
        audit = {a["layer"]: a for a in init_audit(ctx, 0)}
        low = [i for i in low if audit.get(ctx.layers[i].name, {}).get("verdict") == "too_large"]
        if 2 * len(low) < len(layers):
            return None
        return low, {"pattern": "low_mean_derivative",
                     "mean_derivative_of_max": {ctx.layers[i].name: fnum(deriv[i] / DERIV_MAX[
                         str(ctx.activation_kind(i))]) for i in low}}

    def _low_onset(self, ctx: Context, layers: list[int], col: int) -> int:
        """The first column of a low mean derivative: from ``col`` (the first examined one) back over the columns
        where it was measured while at least half of ``layers`` stay below ``low_deriv`` of their maximum.
        The finding's step was the first of the examined window: a sigmoid MLP at N(0, 1) whose layers pass
        0.17-0.22 of the maximum derivative from step 0 was dated to step 290 of a 300-step run
        (tests/regressions/test_qa6_diag_saturation_onset.py)."""
        if ctx.source != "run":
            return col
        der = ctx.stat("act_deriv")[layers]
        bound = np.array([self.low_deriv * DERIV_MAX[str(ctx.activation_kind(i))] for i in layers])
        onset = col
        for c in range(col - 1, -1, -1):
            d = der[:, c]
            if not np.isfinite(d).any():
                continue
            if 2 * int(np.sum(d < bound)) < len(layers):
                break
            onset = c
        return onset

    def _first_col(self, ctx: Context, hit: list[int]) -> int:
        s = ctx.stat("act_saturated")[hit]
        over = np.where((s >= self.fraction).any(axis=0))[0]
        return int(over[0]) if over.size else 0

    def _finding(self, ctx: Context, layers: list[int], severity: str, ev: dict, col: int) -> Finding:
        causes = ["saturating_activation"]
        audit = {a["layer"]: a for a in init_audit(ctx, 0)}
        names = [ctx.layers[i].name for i in layers]
        large = [n for n in names if audit.get(n, {}).get("verdict") == "too_large"]
        if large:
            causes.append("init_scale_too_large")
            ev["init_too_large"] = {n: audit[n]["factor"] for n in large}
        inp = input_stats(ctx)
        inputs_first = False
        if inputs_unnormalized(inp):
            # the first layer saturated by inputs far from unit scale: normalising them is the fix, a different
            # activation or init would still see the same 1000x pre-activations
            chain = ctx.chain()
            inputs_first = bool(chain) and chain[0] in layers
            causes.insert(0 if inputs_first else len(causes), "unnormalized_inputs")
        upd = ctx.stat("update_ratio")
        grown = trained_weight_growth(ctx, layers, col)
        if grown is not None and grown >= WEIGHTS_GROWN:
            # training grew the weights by an order of magnitude and pushed the units into the flat region: the
            # step size first (a tanh MLP whose learning rate was raised 400x after 100 healthy steps, weights
            # grown 100x, got "saturating_activation" alone, remedies beginning with another activation)
            ev["weight_growth_since_first_step"] = fnum(grown)
            causes.insert(0, "learning_rate_too_high")
        elif ctx.source == "run" and upd.shape[1] and nanmedian(upd[:, 0]) > FIRST_UPDATE_TOO_LARGE:
            causes.append("learning_rate_too_high")
        ev["activations"] = {ctx.layers[i].name: ctx.activation_kind(i) for i in layers}
        kinds = {ctx.activation_kind(i) for i in layers}
        if ev.get("pattern") == "top_sigmoid_pinned_at_zero":
            msg = "the top sigmoid layer is pinned near 0 while the layers below stay near 0.5 (Glorot & Bengio 2010)"
        elif ev.get("pattern") == "low_mean_derivative":
            msg = (f"{len(layers)} layer(s) pass on average less than {self.low_deriv:g} of their activation's "
                   "maximum derivative: weights started too large push many units towards the flat region")
        else:
            msg = f"{len(layers)} layer(s) have most units in the flat region of their activation"
        if inputs_first and isinstance(inp.get("rms"), (int, float)):
            est = f"estimated from layer {inp.get('layer')}: " if inp.get("estimated") else ""
            msg += (f"; the first layer ({ctx.layers[ctx.chain()[0]].name}) takes inputs far from unit scale "
                    f"({est}rms {inp['rms']:.3g})")
        return Finding(kind="saturation", severity=severity, layers=names, step=ctx.step_of(col), evidence=ev,
                       causes=causes, remedies=rank_remedies(causes, "saturation",
                                                             saturating=bool(kinds & SATURATING)),
                       message=msg, detector=self.name)
