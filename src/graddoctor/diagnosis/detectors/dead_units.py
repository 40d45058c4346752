"""dead_units: ReLU-family units that output zero for every sample."""
from __future__ import annotations

import numpy as np

from ..causes import FIRST_UPDATE_TOO_LARGE, rank_remedies
from ..context import Context, fnum, nanmedian
from ..findings import Finding
from .base import Detector, register


def dead_over_window(ctx: Context, measurements: int) -> tuple[list[int], np.ndarray]:
    """The step columns examined and, per layer, the smallest ``act_dead`` over them (NaN where unmeasured).

    Columns: every batch of a check; in a run the last ``measurements`` steps where ``act_dead`` was measured,
    the first step excluded when later ones exist."""
    dead = ctx.stat("act_dead")
    cols = [int(c) for c in np.where(np.isfinite(dead).any(axis=0))[0]] if dead.shape[1] else []
    if ctx.source == "run":
        if len(cols) > 1:
            cols = cols[1:]
        cols = cols[-measurements:] if measurements > 0 else []
    if not cols:
        return [], np.full(dead.shape[0], np.nan)
    sub = dead[:, cols]
    with np.errstate(all="ignore"):
        low = np.where(np.isfinite(sub).any(axis=1), np.nanmin(np.where(np.isfinite(sub), sub, np.inf), axis=1),
                       np.nan)
    return cols, low


#: Units that die during training are put down to the learning rate only when some recorded step moved the
#: weights by at least this fraction (median ||dW||/||W|| over the layers): 1e-3 is the healthy order of an
#: update (the rule of thumb behind FIRST_UPDATE_TOO_LARGE); units that die under updates far below it were not
#: knocked off by a large step (a 30-layer Xavier ReLU net at SGD lr 0.01 dies at ratios of 1e-8).
DEAD_LR_MIN_UPDATE = 1e-3
#: The forward signal collapsed with depth when a dead layer's output RMS at the first measured step is below
#: this fraction of the first layer's: the pre-activations of deep units are then dominated by their biases and
#: the units' signs no longer depend on the sample (He et al. 2015, §2.2: Xavier init halves the signal's
#: energy at every ReLU layer, 2^-15 in RMS after 30 layers). 1e-2 is a shrink of 100x, which a healthy
#: (He-init, normalised or residual) net does not show at init.
DEAD_SIGNAL_COLLAPSE = 1e-2
#: Units dead from the first step are put down to a negative shift of what feeds them when, at the first measured
#: step, the dead layers' outputs (the pre-activations of their ReLU) have a mean of at most -PREACT_SHIFT x their
#: RMS (median over the dead layers): most of every unit's inputs then lie below zero for every sample, which a
#: negative bias at initialisation or inputs far from zero mean do. Measured (4-layer He-init ReLU MLPs, width 64,
#: 2026-11-24): biases initialised at -1 to -3 gave -0.96 to -1.0 in the dead layers; zero biases -0.21 to +0.03,
#: and a mean of -0.5 x the RMS already puts ~70 % of a Gaussian's entries below zero.
PREACT_SHIFT = 0.5


def _peak_update(ctx: Context, col: int) -> float:
    """The largest per-step median update ratio over the layers, over the recorded steps up to ``col``."""
    upd = ctx.stat("update_ratio")[:, :col + 1]
    cols = np.isfinite(upd).any(axis=0)
    if not cols.any():
        return float("nan")
    return float(max(nanmedian(upd[:, c]) for c in np.where(cols)[0]))


def _preactivation_shift(ctx: Context, hit: list[int]) -> float:
    """Median over the dead layers of out_mean / out_rms at the first step that measured both (NaN if none)."""
    mean, rms = ctx.stat("out_mean"), ctx.stat("out_rms")
    cols = np.where((np.isfinite(mean[hit]) & np.isfinite(rms[hit]) & (rms[hit] > 0)).any(axis=0))[0]
    if not cols.size:
        return float("nan")
    c = int(cols[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = mean[hit, c] / rms[hit, c]
    return nanmedian(ratio)


def _signal_collapsed(ctx: Context, hit: list[int]) -> bool:
    """Whether the dead layers' output RMS at the first measured step is below DEAD_SIGNAL_COLLAPSE x the
    first measured layer's."""
    rms = ctx.stat("out_rms")
    cols = np.where(np.isfinite(rms).any(axis=0))[0]
    if not cols.size:
        return False
    col = rms[:, cols[0]]
    first = next((float(v) for v in col if np.isfinite(v) and v > 0), None)
    dead = [float(col[i]) for i in hit if np.isfinite(col[i])]
    return first is not None and bool(dead) and min(dead) < DEAD_SIGNAL_COLLAPSE * first


@register
class DeadUnits(Detector):
    """Per layer, the fraction of ReLU/ReLU6 units that are zero for every sample of a batch (``act_dead``).

    In a check, the smallest fraction over its batches. Over a run, the smallest fraction over the last
    ``measurements`` steps where it was measured (watch() measures activations on detail steps only, every
    10th by default), not counting the first step when later ones exist: a unit must be dead in every examined
    batch, at several weight states, to count; one that fired in any of them is alive (a lower bound on
    reviving, since the Monitor keeps per-layer fractions, not per-unit masks).

    Why 70 % and not 50 %: with a symmetric initialisation a unit is off for a given input with probability
    1/2, and in a deep ReLU net the representations of different inputs become nearly collinear with depth (the
    ReLU correlation map's fixed point is c = 1; Lu et al. 2019, "Dying ReLU and Initialization", use the same
    collapse to show that deep narrow ReLU nets are born dead with probability -> 1). A unit's sign then hardly
    depends on the sample, so close to half of a deep layer's units are off for a *whole batch* at
    initialisation, whatever the batch size, in a healthy He-init net that trains well (measured on the
    30-layer width-64 He-init net: largest layer 0.33-0.55 at a batch of 64, still 0.27-0.50 at a batch of
    2048). Around that 1/2 a layer of width w scatters binomially, standard deviation 0.5/sqrt(w).

    Args:
        fraction: dead fraction of a layer that is a problem: 0.7, DeepDiagnosis's threshold (>= 70 % of a
            layer's outputs <= 0; ours is per unit over the whole batch, a stricter count), and 3.2 standard
            deviations above 1/2 at width 64 (2.3 at width 32: the largest layer of 30-layer He-init nets
            measured 0.50-0.62 at width 32, seeds 0-5). Layers narrower than ~32 units can reach it by chance
            at initialisation in deep nets.
        critical_fraction: 0.9: the layer keeps a tenth of its width.
        measurements: measured steps examined at the end of a run (3: with the default detail_every=10 they
            span 20-30 steps).
    """

    name = "dead_units"

    def __init__(self, fraction: float = 0.7, critical_fraction: float = 0.9, measurements: int = 3) -> None:
        self.fraction = fraction
        self.critical_fraction = critical_fraction
        self.measurements = measurements

    def detect(self, ctx: Context) -> list[Finding]:
        cols, low = dead_over_window(ctx, self.measurements)
        if not cols:
            return []
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
        peak_upd = _peak_update(ctx, col) if ctx.source == "run" else float("nan")
        shift = _preactivation_shift(ctx, hit)
        if born_dead and np.isfinite(shift) and shift <= -PREACT_SHIFT:
            causes.append("preactivation_shift")
        if ctx.source == "run" and not born_dead and not (np.isfinite(peak_upd) and peak_upd < DEAD_LR_MIN_UPDATE):
            causes.append("high_learning_rate_relu")
        if _signal_collapsed(ctx, hit):
            causes.append("init_scale_too_small")
        if np.isfinite(first_upd) and first_upd > FIRST_UPDATE_TOO_LARGE:
            causes.append("learning_rate_too_high")
        if not causes:
            causes.append("unknown")
        ev = {"dead_fraction": {ctx.layers[i].name: fnum(low[i]) for i in hit}, "dead_at_first_step": born_dead,
              "first_update_ratio": fnum(first_upd), "peak_update_ratio": fnum(peak_upd),
              "preactivation_mean_over_rms": fnum(shift),
              "steps_examined": [ctx.step_of(c) for c in cols] if ctx.source == "run" else len(cols)}
        remedies = rank_remedies(causes, "dead_units")
        for r in ("use_leaky_relu", "he_init", "add_batchnorm"):
            if r not in remedies:
                remedies.append(r)
        return [Finding(kind="dead_units", severity="critical" if worst >= self.critical_fraction else "warning",
                        layers=[ctx.layers[i].name for i in hit], step=ctx.step_of(col), evidence=ev,
                        causes=causes, remedies=remedies,
                        message=f"{len(hit)} ReLU layer(s) have at least {self.fraction:.0%} of their units "
                                f"zero for every sample (worst {worst:.0%})", detector=self.name)]
