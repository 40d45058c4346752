"""``lower_learning_rate`` and ``raise_learning_rate`` (by a factor measured on the baseline) and ``lr_warmup``
(linear warm-up).

The factor: updates of a healthy layer move its weights by about :data:`TARGET_UPDATE_RATIO` of their norm
per step; the baseline's typical early update ratio ``r`` (the median over its first :data:`EARLY_FRACTION`
of recorded steps of the per-step maximum over layers; early, because a too-high rate soon kills units or
overflows and then the updates vanish) gives factor = target / r, clamped to
[:data:`MIN_FACTOR`, :data:`MAX_FACTOR`]. When the baseline diverged before any update was measured the
factor is :data:`FALLBACK_FACTOR` (one decade, the usual log-scale step of a learning-rate search).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..case import Case
from .base import NotApplicable, RecipeRemedy, RepairContext, probe_optimizer

#: Healthy per-step update ratio ||dW||/||W||: ~1e-3 is Karpathy's rule of thumb for large nets; the small
#: nets graddoctor repairs train well at ~1e-2 (measured: a 2-layer ReLU MLP on digits under SGD 0.1 starts
#: at 0.007-0.012 for its largest layer; at lr 0.5, 1 and 2 it starts at ~0.03, ~0.06 and 0.1-1).
TARGET_UPDATE_RATIO = 1e-2
EARLY_FRACTION = 0.1
MIN_FACTOR = 0.01
MAX_FACTOR = 0.3
FALLBACK_FACTOR = 0.1
#: ``raise_learning_rate`` clamps its factor to [MIN_RAISE, MAX_RAISE]: below 2x a change is within a learning-rate
#: search's noise; 100x (two decades) is the widest jump made on one measurement (measured: SGD at lr 1e-3 on the
#: digits MLP starts at early updates of ~1e-4, so the target 1e-2 asks for 100x, i.e. lr 0.1, the rate of the
#: healthy reference).
MIN_RAISE = 2.0
MAX_RAISE = 100.0
RAISE_FALLBACK = 10.0
#: Warm-up length as a fraction of the training steps (Goyal et al. 2017 warm up over ~5 of 90 epochs; the
#: short runs here use a larger share).
WARMUP_FRACTION = 0.1


def early_update_ratio(baseline: Any) -> float | None:
    """Median of the per-step largest layer update ratio over the early steps, or None."""
    if baseline is None or "update_ratio" not in getattr(baseline, "layer_stats", {}):
        return None
    u = np.asarray(baseline.layer_stats["update_ratio"], dtype=float)
    if u.size == 0:
        return None
    u = u[:, : max(1, math.ceil(u.shape[1] * EARLY_FRACTION))]
    finite = np.isfinite(u)
    has = finite.any(axis=0)  # steps with at least one measured layer
    per_step = np.where(finite, u, -np.inf).max(axis=0)[has] if u.shape[1] else np.array([])
    per_step = per_step[np.isfinite(per_step)]
    return float(np.median(per_step)) if per_step.size else None


def measured_factor(baseline: Any) -> tuple[float, float | None]:
    """(factor, measured update ratio) for lowering the learning rate."""
    r = early_update_ratio(baseline)
    if r is None or r <= 0:
        return FALLBACK_FACTOR, None
    return float(min(MAX_FACTOR, max(MIN_FACTOR, TARGET_UPDATE_RATIO / r))), r


def _scale_lr(optimizer_fn: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
              factor: float) -> Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]:
    def fn(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
        opt = optimizer_fn(params)
        for g in opt.param_groups:
            g["lr"] = g["lr"] * factor
            if "initial_lr" in g:
                g["initial_lr"] = g["initial_lr"] * factor
        return opt

    return fn


class _ScaleLearningRate(RecipeRemedy):
    """Multiply every learning rate by ``factor`` (given, or measured on the baseline by ``check``)."""

    fallback = 1.0

    def __init__(self, variant: str | None = None, factor: float | None = None) -> None:
        super().__init__(variant)
        self.factor = factor
        self._given = factor  # None: measured anew on each recipe's baseline by check()
        self._ratio: float | None = None

    def describe(self, ctx: RepairContext | None = None) -> str:
        why = f" (typical early update ratio {self._ratio:.2g}, target {TARGET_UPDATE_RATIO:g})" if self._ratio else ""
        return f"multiplied the learning rate by {self.factor:.3g}{why}"

    def wrap(self, optimizer_fn: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer], case: Case,
             ctx: RepairContext) -> Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]:
        return _scale_lr(optimizer_fn, float(self.factor if self.factor is not None else self.fallback))


class LowerLearningRate(_ScaleLearningRate):
    """Multiply every learning rate by a factor measured on the baseline (or given)."""

    code = "lower_learning_rate"
    fallback = FALLBACK_FACTOR

    def check(self, case: Case, ctx: RepairContext) -> None:
        self.factor, self._ratio = self._given, None
        if self.factor is None:
            self.factor, self._ratio = measured_factor(ctx.baseline)
            if self._ratio is not None and self._ratio <= TARGET_UPDATE_RATIO:
                raise NotApplicable(f"{self.name}: the baseline's updates are already small (early "
                                    f"||dW||/||W|| = {self._ratio:.2g} <= {TARGET_UPDATE_RATIO:g}); a lower "
                                    "learning rate would only slow it down")
        if not 0 < self.factor < 1:
            raise NotApplicable(f"{self.name}: factor must be in (0, 1), got {self.factor}")


class RaiseLearningRate(_ScaleLearningRate):
    """Multiply every learning rate by a factor measured on the baseline (or given): the typical early update
    ratio ``r`` is brought up to :data:`TARGET_UPDATE_RATIO`, factor = target / r clamped to
    [:data:`MIN_RAISE`, :data:`MAX_RAISE`]; :data:`RAISE_FALLBACK` when nothing was measured."""

    code = "raise_learning_rate"
    fallback = RAISE_FALLBACK

    def check(self, case: Case, ctx: RepairContext) -> None:
        self.factor, self._ratio = self._given, None
        if self.factor is None:
            r = early_update_ratio(ctx.baseline)
            self._ratio = r
            if r is None or r <= 0:
                self.factor = RAISE_FALLBACK
            elif TARGET_UPDATE_RATIO / r < MIN_RAISE:
                raise NotApplicable(f"{self.name}: the baseline's updates are already large enough (early "
                                    f"||dW||/||W|| = {r:.2g}, target {TARGET_UPDATE_RATIO:g}); a higher "
                                    "learning rate would risk divergence")
            else:
                self.factor = float(min(MAX_RAISE, TARGET_UPDATE_RATIO / r))
        if not self.factor > 1:
            raise NotApplicable(f"{self.name}: factor must be > 1, got {self.factor}")
        probe_optimizer(case)


class Warmup(RecipeRemedy):
    """Raise the learning rate linearly from lr/n to lr over the first n steps (an optimizer pre-hook)."""

    code = "lr_warmup"

    def _steps(self, case: Case) -> int:
        return max(1, round(case.steps * WARMUP_FRACTION))

    def check(self, case: Case, ctx: RepairContext) -> None:
        if self._steps(case) < 2:
            raise NotApplicable(f"{self.name}: {case.steps} steps are too few to warm up over")
        probe_optimizer(case)

    def describe(self, ctx: RepairContext | None = None) -> str:
        return f"warmed the learning rate up linearly over the first {WARMUP_FRACTION:.0%} of the steps"

    def wrap(self, optimizer_fn: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer], case: Case,
             ctx: RepairContext) -> Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]:
        n = self._steps(case)

        def fn(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
            opt = optimizer_fn(params)
            count = [0]
            unscaled: list[Any] = []

            # Each of the first n steps runs at (k + 1) / n of the rate the group has then, which is put back
            # after the step: a learning-rate scheduler of the user's loop (train_fn) keeps its own schedule,
            # and from step n on the rate is not touched at all (it was reset to its first value every step).
            def pre(o: Any, args: Any, kwargs: Any) -> None:
                k = count[0]
                count[0] += 1
                unscaled.clear()
                if k >= n:
                    return
                for g in o.param_groups:
                    unscaled.append(g["lr"])
                    g["lr"] = g["lr"] * ((k + 1) / n)

            def post(o: Any, args: Any, kwargs: Any) -> None:
                for g, lr in zip(o.param_groups, unscaled):
                    g["lr"] = lr
                unscaled.clear()

            opt.register_step_pre_hook(pre)
            opt.register_step_post_hook(post)
            return opt

        return fn
