"""exploding_gradient, axis "depth": the backward or forward signal grows geometrically through the layers,
or relative gradients are far above one."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...stats.kinds import SATURATING
from ..causes import depth_causes, input_stats, rank_remedies
from ..context import Context, fnum
from ..depth import DepthProfile, profile, window_cols
from ..findings import Finding
from .base import Detector, register


@register
class ExplodingDepth(Detector):
    """Three symptoms, each from a robust fit over the depth chain (output head excluded for the backward fit):

    * the backward signal ||dL/d out|| grows towards the input: fitted first/last > ``signal_ratio``;
    * the forward activations grow geometrically: fitted act_rms last/first > ``act_growth``;
    * some layer's relative gradient ||∇W||/||W|| exceeds ``grad_ratio``: one SGD step at lr 0.1 would move
      the weights by more than their own norm. Only layers with a weight matrix count: a gain or scale that
      starts at zero (ReZero, zero-gamma BatchNorm, LayerScale) has an unbounded ratio by construction.
      When that is the only symptom and neither signal grows over the chain (backward first/last <= 1,
      forward last/first <= 1), the gradient is large where it enters, at the loss: the cause is
      ``large_loss_gradient`` (init and depth causes do not explain it; evidence ``gradient_enters_large``).

    Args:
        signal_ratio: 100. A residual+BatchNorm net routinely shows first-layer gradients 10-20x the last
            (measured on the corpus: ResNet-like nets up to ~20x); two orders of magnitude is beyond that.
        act_growth: 100, the same two orders for the forward signal (He et al. 2015, eq. 9: each ReLU layer
            with Var[w]·n/2 = g multiplies the forward variance by g).
        grad_ratio: 10 (relative gradients of healthy nets at init are 1e-3..1 on the corpus).
        critical_ratio: growth (backward or forward) above which the finding is critical (1e4).
        window: recorded steps examined at the end of a run (plus the first).
        min_fraction: fraction of the examined steps that must show the problem (or the first step alone).
    """

    name = "exploding_depth"

    def __init__(self, signal_ratio: float = 100.0, act_growth: float = 100.0, grad_ratio: float = 10.0,
                 critical_ratio: float = 1e4, window: int = 10, min_fraction: float = 0.5) -> None:
        self.signal_ratio = signal_ratio
        self.act_growth = act_growth
        self.grad_ratio = grad_ratio
        self.critical_ratio = critical_ratio
        self.window = window
        self.min_fraction = min_fraction

    def _symptoms(self, p: DepthProfile) -> list[str]:
        out = []
        if np.isfinite(p.signal_ratio) and p.signal_ratio > self.signal_ratio:
            out.append("backward_growth")
        if np.isfinite(p.act_growth) and p.act_growth > self.act_growth:
            out.append("forward_growth")
        if np.isfinite(p.grad_ratio_max) and p.grad_ratio_max > self.grad_ratio:
            out.append("relative_gradient")
        return out

    def _onset(self, ctx: Context, col: int, symptoms: list[str]) -> int:
        """The first column of the episode that ``col`` (a column of the examined window) belongs to: walking
        back over the detail steps (where the relative gradient was recorded) while they show one of
        ``symptoms``, up to the first that measured them and showed none. A finding's ``step`` is the first step
        that showed the problem: a tanh MLP whose weights a learning rate raised 400x at step 100 grew was
        reported at step 190, the first step of the last-10-steps window, though every detail step from 110 on
        showed the growth."""
        if ctx.source != "run" or col <= 1:
            return col
        detail = np.flatnonzero(np.isfinite(ctx.stat("grad_ratio")[:, 1:col]).any(axis=0)) + 1
        stat = {"backward_growth": "signal_ratio", "forward_growth": "act_growth",
                "relative_gradient": "grad_ratio_max"}
        onset = col
        for c in detail[::-1]:
            q = profile(ctx, int(c), min_layers=0)
            if q is None:
                continue
            seen = self._symptoms(q)
            if any(sym in seen for sym in symptoms):
                onset = int(c)
            elif any(np.isfinite(getattr(q, stat[sym])) for sym in symptoms):
                break  # measured and healthy: the episode starts after it
        return onset

    def detect(self, ctx: Context) -> list[Finding]:
        cols = window_cols(ctx, self.window)
        profiles = [p for p in (profile(ctx, c, min_layers=0) for c in cols) if p is not None]
        if not profiles:
            return []
        bad = [(p, s) for p, s in ((p, self._symptoms(p)) for p in profiles) if s]
        # each symptom is judged over the steps where it could be measured: a run records the forward rms and the
        # relative gradient on detail steps only (every 10th), where counting the other nine columns in ten as
        # healthy made a problem seen on every detail step of the window 1 of 11 columns
        stat = {"backward_growth": "signal_ratio", "forward_growth": "act_growth",
                "relative_gradient": "grad_ratio_max"}

        def share(sym: str) -> float:
            seen = [p for p in profiles if np.isfinite(getattr(p, stat[sym]))]
            return sum(1 for p, ss in bad if sym in ss) / len(seen) if seen else 0.0
        if not bad or (max(share(sym) for sym in stat) < self.min_fraction and bad[0][0].col != 0):
            return []
        p, symptoms = bad[0]
        onset = self._onset(ctx, p.col, symptoms)
        worst = max(max(q.signal_ratio if np.isfinite(q.signal_ratio) else 0, q.act_growth
                        if np.isfinite(q.act_growth) else 0) for q, _ in bad)
        sev = "critical" if worst > self.critical_ratio else "warning"
        causes, cev = depth_causes(ctx, p.layers, shrink=False, col=p.col)
        gr = ctx.stat("grad_ratio")[:, p.col]
        # Large relative gradients with neither signal growing through the chain: the gradient is large where
        # it enters (the loss gradient at the output), not amplified by the layers, so init and depth do not
        # explain it (a 3-layer regression MLP on targets 0-9 read as "depth_without_normalization").
        at_entry = symptoms == ["relative_gradient"] and len(p.layers) >= 2 and \
            np.isfinite(p.signal_ratio) and p.signal_ratio <= 1.0 and \
            np.isfinite(p.act_growth) and p.act_growth <= 1.0
        inputs_large = at_entry and "unnormalized_inputs" in causes
        if at_entry:
            # a weight's gradient is the backward signal times the layer's input: inputs far from unit scale
            # (pixels 0-255, features x1000) make every relative gradient large with a bounded loss gradient
            # (a ReLU MLP on digits x1000: 102 at init) and are then the cause, not the loss gradient
            causes = [c for c in causes if c == "learning_rate_too_high"]
            causes.insert(0, "large_loss_gradient")
            if inputs_large:
                causes.insert(0, "unnormalized_inputs")
        if symptoms == ["relative_gradient"] or len(p.layers) < 2:
            layers = [ctx.layers[i].name for i in ctx.relative_gradient_layers(p.col) if np.isfinite(gr[i])
                      and gr[i] > self.grad_ratio]
        elif "forward_growth" in symptoms and "backward_growth" not in symptoms:
            # the forward fit runs over every chain layer with an output; p.layers are those with a finite,
            # non-zero backward signal, which after an overflow are only the last few (an 8-block GPT without
            # LayerNorm at N(0, 0.5): forward growth 1.8e15, named 'blocks.7.*' only)
            act = ctx.stat("act_rms")[:, p.col]
            layers = [ctx.layers[i].name for i in ctx.chain() if np.isfinite(act[i])] or \
                [ctx.layers[i].name for i in p.layers]
        else:
            layers = [ctx.layers[i].name for i in p.layers]
        kinds = {ctx.activation_kind(i) for i in p.layers}
        ev: dict[str, Any] = {"symptoms": symptoms, "signal_ratio_first_last": fnum(p.signal_ratio),
                              "signal_gain_per_layer": fnum(p.signal_gain),
                              "act_rms_growth_last_first": fnum(p.act_growth),
                              "grad_ratio_max": fnum(p.grad_ratio_max), "layers_fitted": len(p.layers), **cev}
        recurrent = any(ctx.is_recurrent(i) for i in range(len(ctx.layers)))
        # only the numbers that were measured: after an overflow, or on a chain of one layer, the fits are NaN
        nums = [f"{label} {v:.3g}" for label, v in (("backward first/last", p.signal_ratio),
                                                    ("forward last/first", p.act_growth),
                                                    ("max ||gW||/||W||", p.grad_ratio_max)) if np.isfinite(v)]
        msg = ("the signal grows through the layers (" + ", ".join(symptoms).replace("_", " ") + ")"
               + (": " + ", ".join(nums) if nums else ""))
        if symptoms == ["relative_gradient"] and not (np.isfinite(p.signal_ratio) or np.isfinite(p.act_growth)):
            # nothing was measured through the layers: say what was, not a growth
            msg = (f"relative gradient ||gW||/||W|| up to {p.grad_ratio_max:.3g} (above {self.grad_ratio:g} at "
                   f"{', '.join(layers[:3])}{', ...' if len(layers) > 3 else ''}): one SGD step at lr 0.1 would "
                   "move those weights by more than their norm; the growth through the layers was not measured")
        if any(ctx.layers[i].type == "RNN" for i in range(len(ctx.layers)) if ctx.layers[i].name in layers) \
                and "plain_rnn_long_sequence" not in causes:
            causes.append("plain_rnn_long_sequence")  # a plain RNN's weights: the product over time steps
        if at_entry:
            top = max((i for i in range(len(ctx.layers)) if ctx.layers[i].name in layers), key=lambda i: gr[i],
                      default=None)
            more = ", ..." if len(layers) > 3 else ""
            msg = (f"the gradient is large where it enters the net (max ||gW||/||W|| {p.grad_ratio_max:.3g}"
                   f"{'' if top is None else ' at ' + ctx.layers[top].name}; above {self.grad_ratio:g} at {', '.join(layers[:3])}{more}), not grown "
                   f"through the layers (backward first/last "
                   f"{p.signal_ratio:.3g}, forward last/first {p.act_growth:.3g}): the loss gradient is large")
            if inputs_large:
                inp = input_stats(ctx)
                rms = inp.get("rms")
                what = f"estimated from layer {inp.get('layer')}: rms" if inp.get("estimated") else "rms"
                msg = msg.replace("the loss gradient is large", "the inputs are far from unit scale" + (
                    f" ({what} {rms:.3g})" if isinstance(rms, (int, float)) else "") + ", and a weight's "
                    "gradient scales with its layer's input")
        ev["gradient_enters_large"] = at_entry
        if onset != p.col:
            ev["examined_step"] = ctx.step_of(p.col)  # the step whose numbers the evidence gives
        return [Finding(kind="exploding_gradient", severity=sev, layers=layers, axis="depth",
                        step=ctx.step_of(onset), evidence=ev, causes=causes,
                        remedies=rank_remedies(causes, "exploding_gradient", recurrent=recurrent,
                                               saturating=bool(kinds & SATURATING)),
                        message=msg, detector=self.name)]
