"""vanishing_gradient, axis "depth": the backward signal decays on its way to the first layers."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...stats.activations import SATURATING
from ..causes import depth_causes, rank_remedies
from ..context import Context, fnum
from ..depth import DepthProfile, profile, window_cols
from ..findings import Finding
from .base import Detector, register


@register
class VanishingDepth(Detector):
    """Fits log10 ||dL/d(layer output)|| against the position in the depth chain (Theil-Sen, all layers, the
    output head excluded) instead of comparing two layers.

    A layer "learns slower" only when its weight gradient is small too: a shrinking backward signal with a
    forward signal shrinking as fast leaves ||∇W||/||W|| uniform (Glorot & Bengio 2010, Fig. 8: "the
    back-propagated gradients get smaller, the weight gradients do not"). So a problem needs the signal decay
    *and* either the relative weight gradient decaying towards the input, or it being uniformly tiny (He et
    al. 2015's 30-layer Xavier ReLU net, "completely stalled": ~1e-5 everywhere, first/last ~1).

    Args:
        signal_ratio: fitted first/last signal ratio below which the signal counts as decaying. 0.05: Nielsen's
            3-hidden-layer sigmoid net (ch. 5) measures 1/24 = 0.042 and is his example of a vanishing
            gradient; his 2-layer net (1/4.7) trains to the same accuracy.
        grad_ratio_ratio: fitted first/last ratio of ||∇W||/||W|| below which the first layers learn slower;
            0.2 (a five-fold speed difference; Nielsen's 3-layer net: 0.19 measured here).
        tiny_grad_ratio: median ||∇W||/||W|| below which every layer is stalled. 1e-4: even at a learning rate
            of 0.1 an SGD step then moves the weights by 1e-5 of their norm, 100x below the ~1e-3 rule of
            thumb; He's stalled net measures ~5e-6, healthy nets 1e-3..1e-1.
        critical_ratio: fitted signal ratio below which the finding is critical (three orders of magnitude).
        window: recorded steps examined at the end of a run (plus the first step).
        min_fraction: fraction of the examined steps that must show the problem.
    """

    name = "vanishing_depth"

    def __init__(self, signal_ratio: float = 0.05, grad_ratio_ratio: float = 0.2, tiny_grad_ratio: float = 1e-4,
                 critical_ratio: float = 1e-3, window: int = 10, min_fraction: float = 0.5) -> None:
        self.signal_ratio = signal_ratio
        self.grad_ratio_ratio = grad_ratio_ratio
        self.tiny_grad_ratio = tiny_grad_ratio
        self.critical_ratio = critical_ratio
        self.window = window
        self.min_fraction = min_fraction

    def _verdict(self, p: DepthProfile) -> str | None:
        if not np.isfinite(p.signal_ratio) or p.signal_ratio >= self.signal_ratio:
            return None
        slow_first = np.isfinite(p.grad_ratio_ratio) and p.grad_ratio_ratio < self.grad_ratio_ratio
        stalled = np.isfinite(p.grad_ratio_median) and p.grad_ratio_median < self.tiny_grad_ratio
        if slow_first or stalled:
            return "stalled" if stalled and not slow_first else "slow_first"
        return "compensated"

    def detect(self, ctx: Context) -> list[Finding]:
        cols = window_cols(ctx, self.window)
        profiles = [p for p in (profile(ctx, c) for c in cols) if p is not None]
        if not profiles:
            return []
        verdicts = [(p, self._verdict(p)) for p in profiles]
        bad = [(p, v) for p, v in verdicts if v in ("slow_first", "stalled")]
        soft = [(p, v) for p, v in verdicts if v == "compensated"]
        if bad and (len(bad) / len(verdicts) >= self.min_fraction or bad[0][0].col == 0):
            p, v = bad[0]
            worst = min(q.signal_ratio for q, _ in bad)
            sev = "critical" if worst < self.critical_ratio else "warning"
            return [self._finding(ctx, p, v, sev)]
        if soft and len(soft) / len(verdicts) >= self.min_fraction:
            return [self._finding(ctx, soft[0][0], "compensated", "info")]
        return []

    def _finding(self, ctx: Context, p: DepthProfile, verdict: str, severity: str) -> Finding:
        causes, cev = depth_causes(ctx, p.layers, shrink=True, col=p.col)
        kinds = {ctx.activation_kind(i) for i in p.layers}
        ev: dict[str, Any] = {
            "pattern": verdict,
            "signal_ratio_first_last": fnum(p.signal_ratio),
            "measured_signal_ratio_first_last": fnum(p.measured_signal_ratio),
            "signal_gain_per_layer": fnum(p.signal_gain),
            "grad_ratio_first_last": fnum(p.grad_ratio_ratio),
            "grad_ratio_median": fnum(p.grad_ratio_median),
            "layers_fitted": len(p.layers),
            **cev,
        }
        names = [ctx.layers[i].name for i in p.layers]
        msg = {
            "slow_first": f"the backward signal shrinks by x{p.signal_gain:.2g} per layer "
                          f"(first/last {p.signal_ratio:.2g}); the first layers learn "
                          f"{1 / max(p.grad_ratio_ratio, 1e-30):.3g}x slower than the last",
            "stalled": f"the backward signal shrinks to {p.signal_ratio:.2g} of the last layer's and every layer's "
                       f"relative gradient is tiny (median {p.grad_ratio_median:.2g}): learning is stalled",
            "compensated": f"the backward signal shrinks to {p.signal_ratio:.2g} of the last layer's, but the "
                           "forward signal shrinks as fast, so the weight gradients stay uniform",
        }[verdict]
        return Finding(kind="vanishing_gradient", severity=severity, layers=names, axis="depth",
                       step=ctx.step_of(p.col), evidence=ev, causes=causes,
                       remedies=rank_remedies(causes, "vanishing_gradient", saturating=bool(kinds & SATURATING)),
                       message=msg, detector=self.name)
