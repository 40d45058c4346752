"""exploding_gradient during training: gradient-norm spikes and geometric growth (runs only)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..causes import FIRST_UPDATE_TOO_LARGE, init_audit, rank_remedies
from ..context import Context, column_nanmedian, fnum, nanmedian, robust_slope, safe_log10
from ..findings import Finding
from .base import Detector, register
from .non_finite import nonfinite_onset
from .unstable import NOISY_START, trained_start

#: A loss has settled when its second-half median is at most this fraction of its start (the unstable_loss
#: detector's ``settled``; see ``min_spike_z``).
SETTLED = 0.25


@register
class ExplodingTraining(Detector):
    """Watches the total gradient norm over the steps of a run.

    * spike: a step whose norm exceeds ``spike_factor`` x the median of the preceding ``window`` steps (after
      ``warmup`` steps), ``spike_factor`` x the median of the following ``window`` steps (when there are any)
      and at least ``min_over_start`` x the median of the first ``window`` recorded steps, the signature of
      Pascanu et al.'s cliff (2013, Fig. 6: a wall 1e4-1e5 times steeper than the surrounding surface, on
      both sides); a non-finite norm counts too, unless the run's first NaN/Inf appeared in the forward pass
      (a layer output or the loss) after steady gradients, with no finite spike before it
      (:func:`~graddoctor.diagnosis.detectors.non_finite.nonfinite_onset`): a NaN label or input then read as
      a gradient cliff, with clipping as the fix. The following steps matter when the norm climbs to a new
      level, as an LSTM's does when it leaves its initial plateau (a 2-layer LSTM classifier under Adam: the
      norm rose from 0.03 to ~2 while the loss fell from 0.69 to 0.16, and one batch at 9.4, 12x the median
      of the ten steps before, was a "spike" although the ten after had a median of 2.4; the corpus's
      spikes are 1,441x to 1e10x);
    * growth: a fitted geometric growth of more than ``growth_factor`` over the last ``window`` steps (all of
      them in a shorter run, at least three; only spikes need ``warmup`` + 2 steps);
    * oversized step: a step whose median relative update over the layers shows that the optimizer moved the
      weights by at least ``max_update`` x their norm before the step (a learning rate so high that the
      first steps replace the weights instead of refining them; the gradient norm may then collapse, e.g.
      when the ReLUs die, instead of spiking). The recorded ratio divides by the norm *after* the step,
      ρ = ||ΔW||/||W_t||, which stays below 1 for any update not pointing against the weights: an update r
      times the old norm, orthogonal to it (a high-dimensional update at init: Adam's sign-like steps, SGD's
      gradient), gives ρ = r/√(1 + r²). So the threshold on ρ is ``max_update``/√(1 + ``max_update``²)
      (0.71 for 1.0): before, the bound was ρ >= 1 itself, which only an update cancelling the weights
      reaches; a 4-block GPT at N(0, 0.02) under Adam at lr 0.1 (first step 4.9x the weights, ρ = 0.98 in
      the median; loss 3.7 -> 5.0 -> 3.7, where lr 1e-3 reaches 3.26) had no finding;
    * grown weights: between two consecutive steps where the weight norm was measured (detail steps), the
      layers' norms grew so much that the steps in between moved them, on average, by at least ``max_update``
      x their earlier norm per step (median over layers; a lower bound, since Σ‖ΔW‖ ≥ ‖W_b‖ − ‖W_a‖). The
      update ratio itself is measured on detail steps only, so a learning rate that blows the weights up
      between them was missed: an LSTM under SGD at lr 50 whose loss jumped from 0.69 to 30-140 at step 2
      and never came back (no NaN, gradient norm back to ~1.5) had its weights grow 33-62x between steps 0
      and 10 and got no finding. Layers that started at zero or below ``INIT_TOO_SMALL`` x the
      variance-preserving scale (the init audit's bound) are left out: they are meant to grow;
    * any of them followed by non-finite gradients or loss makes the finding critical.

    Args:
        spike_factor: 10 (Lightning's SpikeDetection uses rtol=2 on the loss; gradient norms fluctuate more,
            and a 10x jump is beyond the noise of mini-batch SGD on the corpus).
        growth_factor: 100 over the window (two orders of magnitude of sustained growth).
        window: steps in the reference median and the growth fit (10).
        warmup: first steps ignored for spikes (3), as the first updates legitimately change the norm fast.
            Optimizer steps since the first recorded one, not recorded steps: under ``watch(every=5)`` three
            recorded steps were 11 updates, and a 178x spike at step 10 was excused
            (tests/regressions/test_qa7_diag_warmup_optimizer_steps.py).
        min_over_start: 1.0: a spike must also reach the gradient scale the run started with. Once the training
            loss is near zero the gradient shrinks by orders of magnitude and one harder batch is then a large
            multiple of the recent median without being an explosion. Measured on the lab's BatchNorm run
            (50,000 updates, 94.7 % test accuracy): the median gradient norm fell from 1.29 over the first
            steps to 0.005; six "spikes" of 13-448x the recent median reached only 0.02-0.76, all below 1.29.
            Explosions exceed it by far (Pascanu's cliff, the repair benchmark's high-learning-rate runs).
        max_update: 1.0: the step is as large as the weights before it. 10x the 0.1 at which the learning rate
            is named as a cause (causes.FIRST_UPDATE_TOO_LARGE) and 100-10,000x the 1e-4..1e-2 of healthy
            corpus training; the median over layers, so a zero-initialised layer (ratio 1 by construction) does
            not decide it. Compared with the recorded ρ through ρ = r/√(1 + r²) (see above).
        min_spike_z: 3.0: in a run whose loss has settled (second-half median at most ``SETTLED`` = 0.25 x the
            start, the unstable_loss detector's ``settled``), a finite spike must also stand this many robust
            standard deviations (1.4826 x the median absolute deviation of the log gradient norm over the run's
            recorded steps; 3, the usual outlier cut) above the run's median gradient norm, not only 10x above
            its ten neighbours. Healthy digits MLPs trained with batches of 1-2 (86-89 % accuracy) have 10-15x
            "spikes" over a locally low stretch, each one hard sample, at z 0.6-2.5
            (tests/regressions/test_qa4_diag_small_batch_not_unstable.py); a cliff (1e3-1e10x) lies far
            beyond. Only settled runs: an unstable run's own swings widen the spread (the benchmark's
            `relu4_momentum`, SGD lr 0.3 with momentum 0.9: a 12x spike at z 2.0), and there the spike is kept.
        noisy_start: 0.1 (unstable_loss's ``NOISY_START``): the ``min_spike_z`` rule also applies to a run that
            looks watched from a trained model (:func:`~graddoctor.diagnosis.detectors.unstable.trained_start`:
            its first ``window`` losses spread by at least this robust standard deviation of their log without
            a trend, and its second-half median loss has not risen beyond that spread). Such a run starts at its loss floor, so neither
            "settled" (its loss does not fall further) nor ``min_over_start`` (the starting gradient scale is
            already the floor's) excused one harder batch: fine-tuning a converged digits MLP under Adam at
            batch 1-4 gave `gradient_cliff` warnings for "spikes" of 14-370x the recent median at robust z
            0.7-1.8 of the run's own heavy-tailed gradient norms (tests/regressions/test_qa7_diag_finetune_noise.py).
            Runs started at chance level have starting spreads of 0.004-0.074 and are unchanged.
    """

    name = "exploding_training"

    def __init__(self, spike_factor: float = 10.0, growth_factor: float = 100.0, window: int = 10,
                 warmup: int = 3, max_update: float = 1.0, min_over_start: float = 1.0,
                 min_spike_z: float = 3.0, noisy_start: float = NOISY_START) -> None:
        self.noisy_start = noisy_start
        self.min_spike_z = min_spike_z
        self.min_over_start = min_over_start
        self.max_update = max_update
        self.spike_factor = spike_factor
        self.growth_factor = growth_factor
        self.window = window
        self.warmup = warmup

    def detect(self, ctx: Context) -> list[Finding]:
        if ctx.source != "run" or ctx.n_steps == 0:
            return []
        g = ctx.step_stat("total_grad_norm")
        first = g[:self.window][np.isfinite(g[:self.window])]
        floor = self.min_over_start * float(np.median(first)) if first.size else 0.0
        spikes = []
        # spikes need a step past the warmup with one after it; the growth fit (three steps), the oversized step
        # and the grown weights do not: a 4-step run at SGD lr 30 whose loss went 2.3 -> 28 -> 66,378 -> 118,118
        # and its gradient norm 0.4 -> 30 -> 7,903 -> 72,587 had no finding at all
        # (tests/regressions/test_qa7_diag_short_run_explosion.py)
        for t in range(1, g.size if ctx.n_steps >= self.warmup + 2 else 0):
            if ctx.steps[t] - ctx.steps[0] < self.warmup and np.isfinite(g[t]):
                continue  # the warmup excuses fast changes of a finite norm, not a NaN/Inf one
            ref = g[max(0, t - self.window):t]
            ref = ref[np.isfinite(ref)]
            after = g[t + 1:t + 1 + self.window]
            after = after[np.isfinite(after)]
            # a wall stands above the surface on both sides: a level the run keeps is not a spike
            above_after = not after.size or g[t] > self.spike_factor * np.median(after)
            if ref.size and (not np.isfinite(g[t]) or (g[t] > self.spike_factor * np.median(ref) and g[t] >= floor
                                                       and above_after)) \
                    and np.median(ref) > 0:
                spikes.append((t, float(g[t] / np.median(ref)) if np.isfinite(g[t]) else float("inf")))
        fin = g[np.isfinite(g) & (g > 0)]
        if spikes and fin.size >= 2 * self.window and (
                self._settled(ctx) or trained_start(ctx.step_stat("loss"), self.window, self.noisy_start)):
            # a finite spike of a run whose loss has settled, or that was watched from its floor on, must stand
            # out of the run's own (log) spread of gradient norms, not only of its ten neighbours: with batches of
            # 1-2 samples, or near the floor, one hard sample gives 10-300x the local median
            lg = np.log(fin)
            centre, spread = float(np.median(lg)), 1.4826 * float(np.median(np.abs(lg - float(np.median(lg)))))
            if spread > 0:
                spikes = [(t, r) for t, r in spikes
                          if not np.isfinite(g[t]) or (np.log(g[t]) - centre) >= self.min_spike_z * spread]
        onset = nonfinite_onset(ctx)
        if onset is not None and onset["sudden"] and not any(t < onset["col"] for t, _ in spikes):
            # A NaN/Inf that the forward pass met (bad data, an unsafe op) after steady gradients: the non-finite
            # norms from there on are its consequence, the non_finite finding's, not a cliff in the loss surface
            spikes = [(t, r) for t, r in spikes if np.isfinite(g[t])]
        tail = g[-self.window:]  # fewer steps in a short run: the message and the step say how many
        ok = np.isfinite(tail) & (tail > 0)
        growth = float("nan")
        if ok.sum() >= 3:
            s = robust_slope(np.arange(tail.size)[ok], safe_log10(tail[ok]))
            growth = float(10 ** (s * (tail.size - 1)))
        growing = np.isfinite(growth) and growth > self.growth_factor
        upd = ctx.stat("update_ratio")
        med_upd = column_nanmedian(upd) if upd.size else np.full(g.size, np.nan)
        rho = self.max_update / np.sqrt(1.0 + self.max_update ** 2)  # the recorded ratio of such a step
        oversized = [t for t in range(med_upd.size) if np.isfinite(med_upd[t]) and med_upd[t] >= rho]
        grown, per_layer_growth = self._grown_weights(ctx)
        if not spikes and not growing and not oversized and not grown:
            return []
        nf = (np.nan_to_num(ctx.step_stat("nonfinite_grads")) > 0) | ctx.loss_nonfinite()
        c = spikes[0][0] if spikes else (g.size - tail.size if growing else
                                         min(oversized + [b for _, b, _ in grown]))
        then_nf = bool(nf[c:].any())
        ev: dict[str, Any] = {"spikes": [{"step": int(ctx.steps[t]), "x_median": fnum(r)} for t, r in spikes[:10]],
                              "n_spikes": len(spikes), "growth_last_window": fnum(growth),
                              "followed_by_non_finite": then_nf, "grad_norm_median": fnum(nanmedian(g)),
                              "oversized_updates": [{"step": int(ctx.steps[t]), "median_update_ratio": fnum(med_upd[t])}
                                                    for t in oversized[:10]],
                              "grown_weights": [{"from_step": int(ctx.steps[a]), "to_step": int(ctx.steps[b]),
                                                 "median_update_per_step_at_least": fnum(u)}
                                                for a, b, u in grown[:10]]}
        wg = ctx.stat("weight_grad_norm")
        with np.errstate(all="ignore"):
            base = nanmedian(wg[:, max(0, c - self.window):c], axis=1) if c > 0 else wg[:, 0]
            jump = wg[:, c] / base
        gnf = ctx.stat("grad_nonfinite")[:, c] if ctx.stat("grad_nonfinite").size else np.zeros(len(ctx.layers))
        layers = [ctx.layers[i].name for i in range(len(ctx.layers)) if np.isfinite(jump[i])
                  and jump[i] > self.spike_factor] or [ctx.layers[i].name for i in range(len(ctx.layers))
                                                       if np.isfinite(wg[i, c])] \
            or [ctx.layers[i].name for i in range(len(ctx.layers)) if np.isfinite(gnf[i]) and gnf[i] > 0]
        # (the last: a non-finite step, where no gradient norm is finite: the layers whose gradients are not)
        recurrent = any(ctx.is_recurrent(i) for i in range(len(ctx.layers)))
        if not spikes and not growing and c in oversized:  # oversized steps: the layers that moved by their norm
            layers = [ctx.layers[i].name for i in range(len(ctx.layers))
                      if np.isfinite(upd[i, c]) and upd[i, c] >= rho] or layers
        elif not spikes and not growing:  # grown weights: the layers that grew that fast
            u = per_layer_growth[c]
            layers = [ctx.layers[i].name for i in range(len(ctx.layers))
                      if np.isfinite(u[i]) and u[i] >= self.max_update] or layers
        causes: list[str] = []
        if upd.shape[1] and nanmedian(upd[:, 0]) > FIRST_UPDATE_TOO_LARGE or growing or oversized or grown:
            causes.append("learning_rate_too_high")
        if spikes:
            causes.append("gradient_cliff")
        if recurrent and any(layer.type == "RNN" for layer in ctx.layers):
            causes.append("plain_rnn_long_sequence")
        sev = "critical" if then_nf else "warning"
        if spikes:
            first = (f"x{spikes[0][1]:.3g} the recent median" if np.isfinite(spikes[0][1])
                     else "a non-finite gradient norm")
            what = f"{len(spikes)} gradient-norm spike(s) (first {first})"
        elif growing:
            what = (f"the gradient norm grew x{growth:.3g} over the last {tail.size} recorded steps "
                    f"({int(ctx.steps[c])} to {int(ctx.steps[-1])})")
        elif c in oversized and med_upd[c] >= 1.0:
            # ||dW|| >= ||W_t||: no orthogonal reading exists (r/sqrt(1 + r^2) < 1), and the multiple of the old
            # norm is not in the data. It was "about x1e+06" (1 - rho^2 clamped to 1e-12) for steps of 44-4,400x
            # (tests/regressions/test_qa7_diag_oversized_ratio_message.py)
            what = (f"the update at step {int(ctx.steps[c])} was at least as large as the weights it left "
                    f"(||dW||/||W|| after the step {med_upd[c]:.6g}, median over layers): it replaced the weights "
                    f"instead of refining them")
        elif c in oversized:
            r = med_upd[c] / np.sqrt(1.0 - med_upd[c] ** 2)
            what = (f"the update at step {int(ctx.steps[c])} moved the weights by about x{r:.3g} of their norm "
                    f"before it (||dW||/||W|| after the step {med_upd[c]:.3g}, median over layers)")
        else:
            a, b, bound = next(x for x in grown if x[1] == c)
            what = (f"the weights grew so fast between steps {int(ctx.steps[a])} and {int(ctx.steps[b])} that "
                    f"each step moved them by at least x{bound:.3g} of their norm (median over layers)")
        return [Finding(kind="exploding_gradient", severity=sev, layers=layers, axis="depth",
                        step=int(ctx.steps[c]), evidence=ev, causes=causes,
                        remedies=rank_remedies(causes, "exploding_gradient", recurrent=recurrent),
                        message=what + (", then non-finite values" if then_nf else ""), detector=self.name)]

    def _settled(self, ctx: Context) -> bool:
        """Whether the logged loss has settled: its second-half median is at most ``SETTLED`` x the median of
        the first ``window`` steps (unknown without a positive logged loss: not settled)."""
        loss = ctx.step_stat("loss")
        start = nanmedian(loss[:self.window])
        late = nanmedian(loss[loss.size // 2:])
        return bool(np.isfinite(start) and start > 0 and np.isfinite(late) and late <= SETTLED * start)

    def _grown_weights(self, ctx: Context) -> tuple[list[tuple[int, int, float]], dict[int, np.ndarray]]:
        """Pairs of consecutive weight-norm columns ``(a, b, u)`` whose median over layers of the per-step
        growth lower bound u = (‖W_b‖/‖W_a‖ − 1) / (steps between) is at least ``max_update``; and, per
        grown column ``b``, the per-layer bounds."""
        wn = ctx.stat("weight_norm")
        if wn.size == 0:
            return [], {}
        small = {a["layer"] for a in init_audit(ctx, 0) if a["verdict"] == "too_small"}
        keep = np.array([layer.name not in small for layer in ctx.layers])
        cols = [c for c in range(wn.shape[1]) if np.isfinite(wn[:, c]).any()]
        grown, per_layer = [], {}
        for a, b in zip(cols, cols[1:]):
            k = int(ctx.steps[b] - ctx.steps[a])
            if k <= 0:
                continue
            with np.errstate(all="ignore"):
                u = (wn[:, b] / wn[:, a] - 1.0) / k
            u = np.where(keep & np.isfinite(u) & (wn[:, a] > 0), u, np.nan)
            if np.isfinite(u).any() and nanmedian(u) >= self.max_update:
                grown.append((a, b, float(nanmedian(u))))
                per_layer[b] = u  # kept for the grown columns only: one array per column of a long run adds up
        return grown, per_layer
