"""Input remedies as model wrappers (so they work with tensors, DataLoaders and a user's loop alike):

- ``normalize_inputs``: standardise each input feature with the training data's mean and std;
- ``sanitize_inputs``: replace NaN/Inf in the inputs with 0 before the model sees them.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..case import _is_pair
from .base import ModelRemedy, NotApplicable, RepairContext

#: Floor on the feature std (constant features, e.g. MNIST's border pixels, are centred, not blown up).
MIN_STD = 1e-3
#: Inputs counted as already standardised: every feature mean within this of 0 and std within it of 1.
STANDARD_TOL = 0.25
#: Samples used to measure the statistics.
MAX_SAMPLES = 10_000


class InputTransform(nn.Module):
    """Runs ``inner`` on transformed inputs (first positional argument only)."""

    def __init__(self, inner: nn.Module, mean: torch.Tensor | None = None, std: torch.Tensor | None = None,
                 sanitize: bool = False) -> None:
        super().__init__()
        self.inner = inner
        self.sanitize = sanitize
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            if self.sanitize:
                x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
            if self.mean is not None:
                x = (x - self.mean) / self.std
        return self.inner(x, *args, **kwargs)


def _inputs(ctx: RepairContext, case_train: Any) -> torch.Tensor:
    if _is_pair(case_train):
        return case_train[0][:MAX_SAMPLES]
    if ctx.sample is None:
        raise NotApplicable("normalize_inputs: needs training inputs to measure the statistics")
    return ctx.sample[0]


class NormalizeInputs(ModelRemedy):
    """Standardise inputs feature-wise (statistics from the training data, NaN ignored)."""

    code = "normalize_inputs"

    def __init__(self, variant: str | None = None, train: Any = None) -> None:
        super().__init__(variant)
        self.train = train

    def describe(self, ctx: RepairContext | None = None) -> str:
        return "standardised each input feature to zero mean and unit variance (training-data statistics)"

    def apply(self, case: Any, ctx: RepairContext | None = None) -> Any:
        self.train = case.train
        return super().apply(case, ctx)

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        x = _inputs(ctx, self.train)
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise NotApplicable(f"{self.name}: the inputs are not floating-point tensors (e.g. token ids)")
        xf = torch.where(torch.isfinite(x), x, torch.nan).double()
        mean = xf.nanmean(0)
        std = (xf - mean).pow(2).nanmean(0).sqrt()
        if bool(((mean.abs() < STANDARD_TOL) & ((std - 1).abs() < STANDARD_TOL)).all()):
            raise NotApplicable(f"{self.name}: the inputs are already standardised (every feature mean within "
                                f"{STANDARD_TOL} of 0 and std within {STANDARD_TOL} of 1)")
        ref = next(iter(model.parameters()), None)
        device = ref.device if ref is not None else x.device
        mean = torch.nan_to_num(mean).to(device, x.dtype)
        std = torch.nan_to_num(std, nan=1.0).clamp_min(MIN_STD).to(device, x.dtype)
        return InputTransform(model, mean, std, sanitize=not bool(torch.isfinite(x).all()))


class SanitizeInputs(ModelRemedy):
    """Replace NaN/Inf in the inputs with 0."""

    code = "sanitize_inputs"

    def describe(self, ctx: RepairContext | None = None) -> str:
        return "replaced NaN/Inf in the inputs with 0 before the model sees them"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        return InputTransform(model, sanitize=True)
