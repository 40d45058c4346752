"""stalled_learning: every layer's update is tiny while the loss stays far from its floor (runs only); when the
updates are small and uniform rather than vanishing, the cause is a learning rate too low."""
from __future__ import annotations

import numpy as np

from ..causes import rank_remedies
from ..context import Context, column_nanmedian, fnum, nanmedian
from ..findings import Finding
from .base import Detector, register
from .dead_units import dead_over_window


@register
class Stalled(Detector):
    """He et al. (2015, Fig. 3) describe their 30-layer ReLU net with Xavier init as "completely stalled":
    every gradient diminishes, no single layer stands out. The signature during training: the median
    relative update ||ΔW||/||W|| of *every* layer over the last ``window`` steps is below ``tiny_update`` and
    the loss has improved by less than ``min_progress`` (relative) since the first steps.

    Args:
        tiny_update: 1e-5: 100x below the ~1e-3 per step usually seen in healthy training (on the corpus healthy
            nets update 1e-4..1e-2 per step with SGD); He's stalled net with SGD lr 0.01 measures ~1e-7.
        min_progress: 0.05: the loss fell by less than 5 % of its starting value.
        window: steps compared at the start and the end (10).
        layer_fraction: fraction of the layers that must be below ``tiny_update`` (0.9: the output head, which
            receives the loss gradient directly, may move faster in a stalled net; He's 31-layer net measures
            30 of 31 layers below 1e-7 and the head at ~1e-5).
        dead_fraction: a stall is *explained by dead units* when some ReLU layer has at least this fraction of
            its units zero for every sample on the last ``dead_measurements`` measured steps (0.9, the
            dead_units detector's critical level: a layer that keeps a tenth of its width or less passes almost
            no gradient to the layers below it, and its own incoming weights get none). The stall is then a
            consequence, not a second problem: it is reported as ``info`` with cause ``dead_relu_units`` and
            the dead_units finding carries the problem (e.g. a learning rate so high that every ReLU died).
        dead_measurements: measured steps examined for that (3, as the dead_units detector).
        small_update: 1e-4: the second tier, *learning rate too low*. At least ``layer_fraction`` of the layers
            move less than this per step (10x below the ~1e-3 rule of thumb: Karpathy, CS231n "Neural Networks
            Part 3", ratio of updates to weights) but not all below ``tiny_update``, the loss improved by less
            than ``min_progress``, and the per-layer medians lie within ``flat_spread`` of each other. Measured
            (repair benchmark, seed 0): SGD at lr 1e-3 on the digits MLP moves 3e-5..7e-5 per step with the loss
            at 2.302 -> 2.296 after 200 steps; the healthy setups move 4e-4..2e-2 (the lowest are BatchNorm
            scales) and their loss falls by 80-96 %.
        flat_spread: 100: largest/smallest per-layer median update for the step size, not a vanishing depth
            profile, to be the cause (the vanishing sigmoid nets of the benchmark spread over 1e4 and more; the
            slow SGD net over 2.5).
        min_steps: 50: the second tier needs this many recorded steps (at a healthy ~1e-3 per step 50 steps
            move the weights by several percent, enough for the loss to show it).
        annealed_drop: 10. Updates that were healthy earlier in the run (some recorded step's median over the
            layers at least ``small_update``) and fell by at least this factor while the relative gradients did
            not (the last ``window`` steps' median ||∇W||/||W|| is more than 1/``annealed_drop`` of the one at
            that step) were made small by the step size, i.e. a learning-rate schedule that has decayed (cosine
            or linear decay to ~0, the usual end of a transformer's schedule), not by vanishing gradients: no
            finding. A pre-LN transformer under AdamW with warmup and cosine decay that did not learn its task
            in 300 steps (relative gradients ~7e-3 throughout, updates 1.8e-3 at step 50 and 4.5e-6 at the
            end) was "training has stalled", cause init_scale_too_small, remedy He init
            (tests/regressions/test_qa5_diag_annealed_not_stalled.py). A stall by vanishing gradients has
            tiny relative gradients too (He's 30-layer Xavier net: ~5e-6, updates ~1e-7 from the start), one
            by dead ReLUs gradients that collapsed with the units; a 10x drop is the usual one decade.
        tiny_gradient: 1e-4, the vanishing detector's ``tiny_grad_ratio``. Updates below ``tiny_update`` whose
            relative gradients ||∇W||/||W|| are not tiny (median over the layers of the last ``window`` steps at
            least this) are small because of the step size: they go to the learning-rate-too-low tier (when it
            applies: at least ``min_steps`` steps, a flat profile) instead of the init and depth causes of He's
            stalled net, whose relative gradients are ~5e-6. A 3-layer digits MLP at PyTorch's default init
            under SGD at lr 1e-4 (relative gradients ~3e-2, updates ~3e-6) was "training has stalled" with
            causes init_scale_too_small and depth_without_normalization and remedies He init, BatchNorm and
            residual connections (tests/regressions/test_qa5_diag_tiny_lr_not_init.py).
    """

    name = "stalled"

    def __init__(self, tiny_update: float = 1e-5, min_progress: float = 0.05, window: int = 10,
                 layer_fraction: float = 0.9, dead_fraction: float = 0.9, dead_measurements: int = 3,
                 small_update: float = 1e-4, flat_spread: float = 100.0, min_steps: int = 50,
                 annealed_drop: float = 10.0, tiny_gradient: float = 1e-4) -> None:
        self.tiny_gradient = tiny_gradient
        self.annealed_drop = annealed_drop
        self.small_update = small_update
        self.flat_spread = flat_spread
        self.min_steps = min_steps
        self.dead_fraction = dead_fraction
        self.dead_measurements = dead_measurements
        self.tiny_update = tiny_update
        self.layer_fraction = layer_fraction
        self.min_progress = min_progress
        self.window = window

    def detect(self, ctx: Context) -> list[Finding]:
        if ctx.source != "run" or ctx.n_steps < 2 * min(self.window, 3):
            return []
        w = min(self.window, ctx.n_steps // 2)
        upd = nanmedian(ctx.stat("update_ratio")[:, -w:], axis=1)
        fin = upd[np.isfinite(upd)]
        if fin.size == 0 or np.mean(fin < self.small_update) < self.layer_fraction:
            return []
        lp = ctx.loss_progress(self.window)
        if lp is None:
            return []
        a, b, progress = lp
        if progress >= self.min_progress or self._annealed(ctx, w):
            return []
        grad = nanmedian(nanmedian(ctx.stat("grad_ratio")[:, -w:], axis=1))
        step_size = bool(np.isfinite(grad) and grad >= self.tiny_gradient)  # gradients fine, steps tiny
        below = np.mean(fin < self.tiny_update) >= self.layer_fraction  # He's stalled net: tiny updates
        if not below or step_size:
            low = self._low_lr(ctx, fin, a, b, progress, w)
            if low or not below:  # updates not tiny: the learning-rate tier or nothing, never init/depth
                return low
        from ..causes import MIN_DEPTH_LAYERS, depth_causes
        chain = ctx.chain()
        causes = ["init_scale_too_small", "depth_without_normalization"] \
            if not ctx.has_norm and len(chain) >= MIN_DEPTH_LAYERS else ["init_scale_too_small"]
        ev = {"max_update_ratio": fnum(fin.max()), "median_update_ratio": fnum(np.median(fin)),
              "loss_start": fnum(a), "loss_end": fnum(b), "relative_progress": fnum(progress),
              "lr": ctx.optimizer_hp("lr"), "optimizer": (ctx.meta.get("optimizer") or {}).get("class")}
        if len(chain) >= 2:
            dc, dev = depth_causes(ctx, chain, shrink=True, col=ctx.n_steps - 1)
            causes = [c for c in dc if c != "unknown"] or causes
            if dev.get("dominant_factor") is not None:  # the claim travels with the numbers behind it
                ev.update({k: dev[k] for k in ("dominant_factor", "log10_activation", "log10_weight")})
        rem = rank_remedies(causes, "vanishing_gradient")
        if "use_adam" not in rem:
            rem.append("use_adam")
        severity = "warning"
        _, dead = dead_over_window(ctx, self.dead_measurements)
        dead_layers = {ctx.layers[i].name: fnum(dead[i]) for i in range(len(ctx.layers))
                       if np.isfinite(dead[i]) and dead[i] >= self.dead_fraction}
        if dead_layers:  # a consequence of dead ReLU units: the dead_units finding is the problem
            severity = "info"
            causes = ["dead_relu_units"]
            rem = rank_remedies(causes, "dead_units")
            ev["explained_by"] = "dead_units"
            ev["dead_fraction"] = dead_layers
        return [Finding(kind="stalled_learning", severity=severity,
                        layers=[layer.name for layer in ctx.layers], step=self._onset(ctx, w, self.tiny_update),
                        evidence=ev, causes=causes, remedies=rem,
                        message=f"{np.mean(fin < self.tiny_update):.0%} of the layers move less than {self.tiny_update:g} of their norm per step and the loss "
                                f"improved by {progress:.1%}: training has stalled", detector=self.name)]

    def _onset(self, ctx: Context, w: int, bound: float) -> int:
        """The first step of the stall: from the first of the last ``w`` steps, back over the earlier steps whose
        update ratio was recorded (detail steps) while at least ``layer_fraction`` of the measured layers moved
        less than ``bound``. The finding's step was the first of the last ``w`` steps whatever the run: He's
        30-layer Xavier net, under 1e-7 from its first step, was "stalled from step 15" in a 25-step run
        (tests/regressions/test_qa6_diag_stalled_onset.py)."""
        upd = ctx.stat("update_ratio")
        start = ctx.n_steps - w
        for c in range(start - 1, -1, -1):
            col = upd[:, c]
            fin = col[np.isfinite(col)]
            if fin.size == 0:
                continue
            if np.mean(fin < bound) < self.layer_fraction:
                break
            start = c
        return int(ctx.steps[start])

    def _annealed(self, ctx: Context, w: int) -> bool:
        """The updates of the last ``w`` steps are small because the step size decayed: some earlier recorded
        step moved the layers by at least ``small_update`` (median over layers), the last ``w`` steps by
        ``annealed_drop`` x less, and the relative gradients did not fall by that factor."""
        upd = column_nanmedian(ctx.stat("update_ratio"))
        early = upd[:-w]
        if not (np.isfinite(early).any() and np.nanmax(early) >= self.small_update):
            return False
        k = int(np.nanargmax(early))
        grad = column_nanmedian(ctx.stat("grad_ratio"))
        end_upd, end_grad = nanmedian(upd[-w:]), nanmedian(grad[-w:])
        return bool(end_upd * self.annealed_drop <= early[k] and np.isfinite(grad[k])
                    and end_grad * self.annealed_drop > grad[k])

    def _low_lr(self, ctx: Context, fin: np.ndarray, a: float, b: float, progress: float, w: int) -> list[Finding]:
        """Small, uniform updates and no progress: the learning rate is too low."""
        pos = fin[fin > 0]
        if ctx.n_steps < self.min_steps or pos.size < fin.size or pos.max() / pos.min() > self.flat_spread:
            return []
        ev = {"max_update_ratio": fnum(fin.max()), "median_update_ratio": fnum(np.median(fin)),
              "update_spread": fnum(pos.max() / pos.min()), "loss_start": fnum(a), "loss_end": fnum(b),
              "relative_progress": fnum(progress), "lr": ctx.optimizer_hp("lr"),
              "optimizer": (ctx.meta.get("optimizer") or {}).get("class")}
        causes = ["learning_rate_too_low"]
        return [Finding(kind="stalled_learning", severity="warning",
                        layers=[layer.name for layer in ctx.layers], step=self._onset(ctx, w, self.small_update),
                        evidence=ev,
                        causes=causes, remedies=rank_remedies(causes, "stalled_learning"),
                        message=f"{np.mean(fin < self.small_update):.0%} of the layers move less than "
                                f"{self.small_update:g} of their norm per step (median "
                                f"{np.median(fin):.2g}, within {pos.max() / pos.min():.3g}x of each other) and "
                                f"the loss improved by {progress:.1%}: the learning rate is too low",
                        detector=self.name)]
