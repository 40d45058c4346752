"""``clip_grad_norm`` / ``clip_grad_value``: gradient clipping through the training recipe (an optimizer
step pre-hook), never through the model.

The threshold comes from the baseline's measured gradient norms (Pascanu et al. 2013 advise 0.5-10x the
average norm): the median total gradient norm over the first :data:`EARLY_FRACTION` of recorded steps,
i.e. the typical norm before an explosion took over, times :data:`NORM_FACTOR`. Value clipping uses the
same measurement as a per-entry RMS, times :data:`VALUE_FACTOR`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..case import Case
from .base import NotApplicable, RecipeRemedy, RepairContext

#: Part of the baseline's recorded steps whose gradient norms set the threshold (the early, typical regime).
EARLY_FRACTION = 0.25
#: Norm threshold = this x the median early gradient norm (inside Pascanu et al.'s 0.5-10x band).
NORM_FACTOR = 1.0
#: Value threshold = this x the RMS gradient entry (sqrt(median norm^2 / number of parameters)).
VALUE_FACTOR = 3.0


def measured_norm(baseline: Any) -> float | None:
    """Median finite total gradient norm over the early part of a run, or ``None`` when unmeasured."""
    if baseline is None or "total_grad_norm" not in getattr(baseline, "step_stats", {}):
        return None
    g = np.asarray(baseline.step_stats["total_grad_norm"], dtype=float)
    g = g[: max(1, math.ceil(len(g) * EARLY_FRACTION))]
    g = g[np.isfinite(g) & (g > 0)]
    return float(np.median(g)) if g.size else None


def _params_of(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for g in opt.param_groups for p in g["params"]]


class ClipGradNorm(RecipeRemedy):
    """Clip the total gradient norm at a threshold measured on the baseline (or given)."""

    code = "clip_grad_norm"

    def __init__(self, variant: str | None = None, threshold: float | None = None) -> None:
        super().__init__(variant)
        if threshold is not None and not (isinstance(threshold, (int, float)) and 0 < threshold < math.inf):
            # 0 zeroes every gradient; a negative norm limit flips their sign (torch scales by limit / norm)
            raise ValueError(f"{self.code}: threshold must be a positive number (or None: measured on the "
                             f"baseline), got {threshold!r}")
        self.threshold = threshold
        self._used: float | None = None

    def _threshold(self, case: Case, ctx: RepairContext) -> float:
        if self.threshold is not None:
            return float(self.threshold)
        norm = measured_norm(ctx.baseline)
        if norm is None:
            raise NotApplicable(f"{self.name}: the threshold is chosen from the baseline's measured gradient norms "
                                "and none were measured; pass a threshold explicitly")
        return self._scale(norm, case)

    def _scale(self, norm: float, case: Case) -> float:
        return NORM_FACTOR * norm

    def check(self, case: Case, ctx: RepairContext) -> None:
        self._used = self._threshold(case, ctx)

    def describe(self, ctx: RepairContext | None = None) -> str:
        return f"clipped the gradient norm at {self._used:.3g} (the median early gradient norm measured on the " \
               "baseline)" if self._used is not None else "clip the gradient norm"

    def wrap(self, optimizer_fn: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer], case: Case,
             ctx: RepairContext) -> Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]:
        limit = float(self._used if self._used is not None else self._threshold(case, ctx))
        clip = self._clip

        def fn(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
            opt = optimizer_fn(params)
            ps = _params_of(opt)
            opt.register_step_pre_hook(lambda o, a, k: clip(ps, limit))
            return opt

        return fn

    @staticmethod
    def _clip(params: list[torch.Tensor], limit: float) -> None:
        torch.nn.utils.clip_grad_norm_(params, limit)


class ClipGradValue(ClipGradNorm):
    """Clip every gradient entry to [-v, v], v measured on the baseline (or given)."""

    code = "clip_grad_value"

    def _scale(self, norm: float, case: Case) -> float:
        with torch.random.fork_rng(devices=[]):
            n = sum(p.numel() for p in case.build_model().parameters() if p.requires_grad)
        return VALUE_FACTOR * norm / math.sqrt(max(n, 1))

    def describe(self, ctx: RepairContext | None = None) -> str:
        return f"clipped every gradient entry to +-{self._used:.3g} ({VALUE_FACTOR:g}x the RMS entry measured on " \
               "the baseline)" if self._used is not None else "clip gradient values"

    @staticmethod
    def _clip(params: list[torch.Tensor], limit: float) -> None:
        torch.nn.utils.clip_grad_value_(params, limit)
