"""Depth profiles shared by the vanishing and exploding detectors: robust fits of log10 statistics
against a layer's position in the depth chain, per recorded step."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .context import Context, robust_slope, safe_log10


@dataclass
class DepthProfile:
    """Fitted per-layer trends of one step column.

    ``*_ratio`` values are fitted first/last ratios over the span (10 ** (-slope * (n - 1))): below 1 means
    the quantity is smaller at the first layer than at the last. ``*_gain`` values are the fitted per-layer
    factors (10 ** -slope): the robust geometric-mean gain of one layer step towards the input, so that
    ``ratio == gain ** (n - 1)``; ``transitions`` is ``n - 1``.
    """

    col: int
    layers: list[int]            # chain layers used for the fit (forward order)
    signal_ratio: float          # fitted ||dL/d out|| first / last
    signal_gain: float           # fitted per-layer factor of ||dL/d out|| going one layer back (towards input)
    grad_ratio_ratio: float      # fitted (||gW||/||W||) first / last
    grad_ratio_gain: float       # fitted per-layer factor of ||gW||/||W|| going one layer back
    grad_ratio_median: float     # median ||gW||/||W|| over the span
    grad_ratio_max: float
    act_growth: float            # fitted act_rms last / first (forward growth)
    measured_signal_ratio: float  # raw signal first / last (no fit)
    silent: list[int] = field(default_factory=list)  # chain layers before the fit whose signal is exactly 0

    @property
    def transitions(self) -> int:
        """Layer-to-layer steps in the fit (chain layers fitted minus one)."""
        return max(len(self.layers) - 1, 0)


def profile(ctx: Context, col: int, exclude_head: bool = True, min_layers: int = 2) -> DepthProfile | None:
    """Fit the depth trends of step column ``col`` over the chain (minus the output head when
    ``exclude_head`` and the chain has at least three layers). ``None`` when fewer than ``min_layers`` chain
    layers have a finite backward signal; with ``min_layers=0`` a profile holding only the relative-gradient
    statistics of every layer (``grad_ratio_max`` always covers every layer with a weight matrix, head
    included: :meth:`Context.relative_gradient_layers`)."""
    chain = ctx.chain()
    if exclude_head and len(chain) >= 3:
        head = ctx.head()  # the last chain layer the forward pass called
        span = [i for i in chain if i != head]
    else:
        span = chain
    sig = ctx.stat("signal_norm")[:, col]
    measured = [i for i in span if np.isfinite(sig[i])]
    span = [i for i in measured if sig[i] > 0]
    # Layers whose backward signal is exactly 0 before (towards the input of) layers that still get one: the
    # signal vanished entirely there (a float32 underflow below ~1e-45, 20 sigmoid layers at small init) and
    # log10 cannot fit them, but they are the most affected layers, not absent ones.
    silent = [i for i in measured if sig[i] == 0 and span and i < span[-1]]
    all_gr = ctx.stat("grad_ratio")[ctx.relative_gradient_layers(col), col]
    all_gr = all_gr[np.isfinite(all_gr)]
    if len(span) < max(min_layers, 1):
        if min_layers > 0 or not all_gr.size:
            return None
        nan = float("nan")
        return DepthProfile(col=col, layers=[], signal_ratio=nan, signal_gain=nan, grad_ratio_ratio=nan,
                            grad_ratio_gain=nan,
                            grad_ratio_median=float(np.median(all_gr)), grad_ratio_max=float(all_gr.max()),
                            act_growth=nan, measured_signal_ratio=nan)
    x = np.arange(len(span), dtype=float)
    n1 = len(span) - 1
    ls = safe_log10(sig[span])
    s_sig = robust_slope(x, ls)
    gr = ctx.stat("grad_ratio")[span, col]
    s_gr = robust_slope(x, safe_log10(gr))
    act = ctx.stat("act_rms")[chain, col]
    s_act = robust_slope(np.arange(len(chain), dtype=float), safe_log10(act))
    fin = gr[np.isfinite(gr)]
    return DepthProfile(
        col=col, layers=span,
        signal_ratio=float(10 ** (-s_sig * n1)) if np.isfinite(s_sig) else float("nan"),
        signal_gain=float(10 ** (-s_sig)) if np.isfinite(s_sig) else float("nan"),
        grad_ratio_ratio=float(10 ** (-s_gr * n1)) if np.isfinite(s_gr) else float("nan"),
        grad_ratio_gain=float(10 ** (-s_gr)) if np.isfinite(s_gr) else float("nan"),
        grad_ratio_median=float(np.median(fin)) if fin.size else float("nan"),
        grad_ratio_max=float(np.max(all_gr)) if all_gr.size else float("nan"),
        act_growth=float(10 ** (s_act * (len(chain) - 1))) if np.isfinite(s_act) else float("nan"),
        measured_signal_ratio=float(sig[span[0]] / sig[span[-1]]),
        silent=silent,
    )


def window_cols(ctx: Context, window: int) -> list[int]:
    """Step columns to examine: every column of a check; the first and the last ``window`` of a run."""
    n = ctx.n_steps
    if n == 0:
        return []
    if ctx.source == "check" or n <= window + 1:
        return list(range(n))
    return [0, *range(n - window, n)]
