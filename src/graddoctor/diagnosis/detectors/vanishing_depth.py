"""vanishing_gradient, axis "depth": the backward signal decays on its way to the first layers."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...stats.kinds import SATURATING
from ..causes import depth_causes, rank_remedies
from ..context import Context, fnum
from ..depth import DepthProfile, profile, window_cols
from ..findings import Finding
from .base import Detector, register

#: Per-layer gain of the backward signal below which it decays at a steep *rate* (the rate route; a milder
#: shrink still counts through the total route). 0.32: the geometric midpoint between Nielsen's bound for a
#: sigmoid layer (ch. 5: σ′ ≤ 1/4, so with normalised weights each layer multiplies the signal by about 1/4
#: or less; the corpus sigmoid nets measure 0.12-0.25) and PyTorch's default initialisation of a ReLU layer
#: (Kaiming-uniform with a = √5, Var[W] = 1/(3 fan_in) = 1/6 of He: the total norm of the backward signal
#: shrinks by √(1/6) = 0.41 per layer, whatever the widths). That default is a deliberate library choice
#: (the init audit tolerates it too) and the shallow nets built on it train well: a [64, 256, 128, 64, 10]
#: ReLU MLP at PyTorch's default init (gain 0.41-0.42, first layers learning 2.6-2.8x slower) trains on
#: digits to a loss of 0.19 in 60 Adam steps, and was a vanishing_gradient warning with the earlier 0.5
#: (tests/regressions/test_qa3_diag_default_init_pyramid.py). A deep default-init net still compounds the
#: shrink and is caught by the total route (the corpus 12-layer net: 0.34-0.46 per layer, ~1e-4 in all).
MAX_SIGNAL_GAIN = 0.32


#: A vanishing finding says where the signal shrinks when the layers whose measured gain is below
#: ``max_signal_gain`` carry at least this share of the chain's decay (sum of log10 of the gains below 1): then
#: the decay is concentrated there, not spread over the chain. 3/4: a middle block of sigmoid layers at
#: N(0, 0.02) between He-init ReLU layers carries 0.86 of it; a uniformly decaying net has no layer above the
#: bound and gets no such note.
STEEP_SHARE = 0.75


@register
class VanishingDepth(Detector):
    """Fits log10 ||dL/d(layer output)|| against the position in the depth chain (Theil-Sen, all layers, the
    output head excluded) instead of comparing two layers.

    **The signal decays** when either route holds (both on the fit):

    * *rate*: the fitted per-layer gain (the robust geometric-mean factor of one layer step towards the input)
      is below ``max_signal_gain`` over at least ``min_transitions`` layer steps: a steep, systematic shrink,
      whatever the depth;
    * *total*: the fitted first/last ratio is below ``signal_ratio``: a mild shrink compounded over many
      layers (He et al. 2015's 30-layer Xavier ReLU net: 0.7 per layer, 1e-5 in all).

    A layer "learns slower" only when its weight gradient is small too: a shrinking backward signal with a
    forward signal shrinking as fast leaves ||∇W||/||W|| uniform (Glorot & Bengio 2010, Fig. 8: "the
    back-propagated gradients get smaller, the weight gradients do not"). So a problem needs the signal decay
    *and* either the relative weight gradient decaying towards the input (the same two routes, with
    ``max_grad_gain`` and ``grad_ratio_ratio``), or it being uniformly tiny (He et al. 2015's 30-layer
    Xavier ReLU net, "completely stalled": ~1e-5 everywhere, first/last ~1). A decaying signal with uniform
    weight gradients is reported as ``info`` (pattern ``compensated``).

    Args:
        max_signal_gain: per-layer gain of the backward signal below which it decays at a steep rate.
            ``MAX_SIGNAL_GAIN`` (0.32), the geometric midpoint between Nielsen's sigmoid layer (σ′ ≤ 1/4) and a
            PyTorch-default-init ReLU layer (√(1/6) = 0.41). Measured on the corpus checks, seeds 0-9: sigmoid
            nets 0.12-0.25, torch-default 12-layer ReLU 0.34-0.46 (total route); healthy controls 0.79-1.23;
            Glorot's standard-init tanh net 0.53-0.56, which is the compensated pattern (its weight gradients
            stay uniform, so it is info only).
        min_transitions: layer steps (fitted layers minus one) the rate route needs: 2. One step is a single
            layer's gain, not a trend through the depth: Nielsen's [784,30,30,10] (first hidden layer 1/4.7 of
            the second) trains to the best accuracy of his four nets (96.90 %); the total route still applies.
        signal_ratio: fitted first/last signal ratio below which the signal decays in total: 0.05 (the first
            layer gets under 1/20 of the last layer's signal; Nielsen's 3-hidden-layer net, his example of the
            problem, measures 1/24).
        max_grad_gain: per-layer gain of ||∇W||/||W|| below which the weight gradients decay too (rate route,
            same ``min_transitions``). 0.7 (≈ 1/√2: the squared relative gradient halves per layer), the
            geometric midpoint between the slowest decaying corpus net (Nielsen's 3 hidden layers: 0.40-0.53
            over seeds 0-9) and the compensated one (Glorot's standard-init tanh net: 0.98-1.05).
        grad_ratio_ratio: fitted first/last ratio of ||∇W||/||W|| below which the first layers learn slower
            (total route): 0.2, a five-fold speed difference.
        tiny_grad_ratio: median ||∇W||/||W|| below which every layer is stalled. 1e-4: even at a learning rate
            of 0.1 an SGD step then moves the weights by 1e-5 of their norm, 100x below the ~1e-3 rule of
            thumb; He's stalled net measures ~5e-6, healthy nets 1e-3..1e-1.
        critical_ratio: fitted signal ratio below which the finding is critical (three orders of magnitude).
        window: recorded steps examined at the end of a run (plus the first step).
        min_fraction: fraction of the examined steps that must show the problem.
    """

    name = "vanishing_depth"

    def __init__(self, max_signal_gain: float = MAX_SIGNAL_GAIN, min_transitions: int = 2, signal_ratio: float = 0.05,
                 max_grad_gain: float = 0.7, grad_ratio_ratio: float = 0.2, tiny_grad_ratio: float = 1e-4,
                 critical_ratio: float = 1e-3, window: int = 10, min_fraction: float = 0.5) -> None:
        self.max_signal_gain = max_signal_gain
        self.min_transitions = min_transitions
        self.signal_ratio = signal_ratio
        self.max_grad_gain = max_grad_gain
        self.grad_ratio_ratio = grad_ratio_ratio
        self.tiny_grad_ratio = tiny_grad_ratio
        self.critical_ratio = critical_ratio
        self.window = window
        self.min_fraction = min_fraction

    def _route(self, gain: float, ratio: float, transitions: int, max_gain: float, max_ratio: float) -> str | None:
        """``"rate"``, ``"total"`` or ``None``: how (whether) a fitted depth trend counts as decaying."""
        if np.isfinite(gain) and transitions >= self.min_transitions and gain < max_gain:
            return "rate"
        if np.isfinite(ratio) and ratio < max_ratio:
            return "total"
        return None

    def _verdict(self, p: DepthProfile) -> str | None:
        if self._route(p.signal_gain, p.signal_ratio, p.transitions, self.max_signal_gain, self.signal_ratio) is None:
            return None
        slow_first = self._route(p.grad_ratio_gain, p.grad_ratio_ratio, p.transitions, self.max_grad_gain,
                                 self.grad_ratio_ratio) is not None
        stalled = np.isfinite(p.grad_ratio_median) and p.grad_ratio_median < self.tiny_grad_ratio
        if slow_first or stalled:
            return "stalled" if stalled and not slow_first else "slow_first"
        if not (np.isfinite(p.grad_ratio_gain) or np.isfinite(p.grad_ratio_ratio)):
            return "unmeasured"  # no relative gradient at this step (a run records it on detail steps only)
        return "compensated"

    def _onset(self, ctx: Context, col: int) -> int:
        """The first column of the episode that ``col`` belongs to: walking back over the detail steps (where
        the relative gradient was recorded) while their verdict is a problem (slow_first or stalled), up to one
        with another verdict (unmeasured steps are skipped). A decay that appeared mid-run used to be dated to
        the first step of the last-10-steps window (as exploding_depth's, tests/regressions/
        test_qa6_diag_exploding_depth_onset.py)."""
        if ctx.source != "run" or col <= 1:
            return col
        detail = np.flatnonzero(np.isfinite(ctx.stat("grad_ratio")[:, 1:col]).any(axis=0)) + 1
        onset = col
        for c in detail[::-1]:
            q = profile(ctx, int(c))
            v = self._verdict(q) if q is not None else "unmeasured"
            if v in ("slow_first", "stalled"):
                onset = int(c)
            elif v != "unmeasured":
                break
        return onset

    def detect(self, ctx: Context) -> list[Finding]:
        cols = window_cols(ctx, self.window)
        profiles = [p for p in (profile(ctx, c) for c in cols) if p is not None]
        if not profiles:
            return []
        # a decaying signal on a step without relative gradients cannot be told apart: such steps are left out of
        # the fraction (in a run 9 of every 10 steps, which made a problem seen on every detail step of the
        # window 1/11 of it and the rest "compensated", a claim about weight gradients never measured)
        verdicts = [(p, v) for p, v in ((p, self._verdict(p)) for p in profiles) if v != "unmeasured"]
        bad = [(p, v) for p, v in verdicts if v in ("slow_first", "stalled")]
        soft = [(p, v) for p, v in verdicts if v == "compensated"]
        if bad and (len(bad) / len(verdicts) >= self.min_fraction or bad[0][0].col == 0):
            p, v = bad[0]
            worst = min(0.0 if q.silent else q.signal_ratio for q, _ in bad)  # a signal of exactly 0: ratio 0
            sev = "critical" if worst < self.critical_ratio else "warning"
            f = self._finding(ctx, p, v, sev)
            onset = self._onset(ctx, p.col)
            if onset != p.col:  # the first step of the episode; the numbers stay the examined step's
                f.evidence["examined_step"] = f.step
                f.step = ctx.step_of(onset)
            return [f]
        if soft and len(soft) / len(verdicts) >= self.min_fraction:
            return [self._finding(ctx, soft[0][0], "compensated", "info")]
        return []

    def _where(self, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
        """Where the shrink happens when it is not spread over the whole chain: the layers whose measured gain
        to the next chain layer (signal[l]/signal[l+1], the factorisation's ``gain``) is below
        ``max_signal_gain``, when the others are not. A block in the middle of a net (sigmoid layers at
        N(0, 0.02) between He-init ReLU layers: gains 0.04-0.12 there, 0.99-1.07 elsewhere) was reported only
        as a fitted 0.16 per layer over every layer, which does not say where the signal dies. None when every
        layer (or none) shrinks that fast."""
        gains = [(r["layer"], r["gain"]) for r in rows if isinstance(r.get("gain"), (int, float))
                 and np.isfinite(r["gain"]) and r["gain"] > 0]
        steep = [(n, g) for n, g in gains if g < self.max_signal_gain]
        rest = [g for n, g in gains if g >= self.max_signal_gain]
        if not steep or not rest:
            return None
        shrink = float(sum(np.log10(g) for _, g in gains if g < 1.0))  # negative: log10 of the decay
        if float(sum(np.log10(g) for _, g in steep)) > STEEP_SHARE * shrink:
            return None  # the steep layers do not carry most of the decay: it is spread over the chain
        order = [r["layer"] for r in rows]
        k = order.index(steep[-1][0]) + 1  # the gain of row l is across l and the next chain layer
        to = order[k] if k < len(order) else steep[-1][0]
        lo, hi = min(g for _, g in steep), max(g for _, g in steep)
        text = (f"; it shrinks between layers {steep[0][0]} and {to} (x{lo:.2g}" + (f"-{hi:.2g}" if hi > lo else "")
                + f" per layer there, x{min(rest):.2g}" + (f"-{max(rest):.2g}" if max(rest) > min(rest) else "")
                + " elsewhere)")
        return {n: fnum(g) for n, g in steep}, text

    def _finding(self, ctx: Context, p: DepthProfile, verdict: str, severity: str) -> Finding:
        causes, cev = depth_causes(ctx, p.layers, shrink=True, col=p.col)
        kinds = {ctx.activation_kind(i) for i in p.layers}
        ev: dict[str, Any] = {
            "pattern": verdict,
            "signal_ratio_first_last": fnum(p.signal_ratio),
            "measured_signal_ratio_first_last": fnum(p.measured_signal_ratio),
            "signal_gain_per_layer": fnum(p.signal_gain),
            "signal_decay_route": self._route(p.signal_gain, p.signal_ratio, p.transitions, self.max_signal_gain,
                                              self.signal_ratio),
            "layer_transitions": p.transitions,
            "grad_ratio_first_last": fnum(p.grad_ratio_ratio),
            "grad_ratio_gain_per_layer": fnum(p.grad_ratio_gain),
            "grad_ratio_median": fnum(p.grad_ratio_median),
            "layers_fitted": len(p.layers),
            "layers_without_signal": [ctx.layers[i].name for i in p.silent],
            **cev,
        }
        # The layers whose signal is exactly 0 come first: they are the earliest and the most affected (the fit
        # cannot take log10 of them, so naming only the fitted ones named the deep end of a 20-layer net).
        names = [ctx.layers[i].name for i in p.silent] + [ctx.layers[i].name for i in p.layers]
        msg = {
            "slow_first": f"the backward signal shrinks by x{p.signal_gain:.2g} per layer "
                          f"(first/last {p.signal_ratio:.2g}); the first layers learn "
                          f"{1 / max(p.grad_ratio_ratio, 1e-30):.3g}x slower than the last",
            "stalled": f"the backward signal shrinks to {p.signal_ratio:.2g} of the last layer's and every layer's "
                       f"relative gradient is tiny (median {p.grad_ratio_median:.2g}): learning is stalled",
            "compensated": f"the backward signal shrinks to {p.signal_ratio:.2g} of the last layer's, but the "
                           "forward signal shrinks as fast, so the weight gradients stay uniform",
        }[verdict]
        if verdict != "compensated" and np.isfinite(p.measured_signal_ratio):
            msg = msg.replace(f"(first/last {p.signal_ratio:.2g})",
                              f"(first/last {p.signal_ratio:.2g} fitted, {p.measured_signal_ratio:.2g} measured)")
        where = self._where(ev.get("factors") or [])
        if where is not None:
            ev["steep_layers"] = where[0]
            msg += where[1]
        if p.silent:
            msg += f"; the {len(p.silent)} layer(s) nearest the input get no backward signal at all (exactly 0)"
        return Finding(kind="vanishing_gradient", severity=severity, layers=names, axis="depth",
                       step=ctx.step_of(p.col), evidence=ev, causes=causes,
                       remedies=rank_remedies(causes, "vanishing_gradient", saturating=bool(kinds & SATURATING)),
                       message=msg, detector=self.name)
