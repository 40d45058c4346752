"""Input remedies as model wrappers (so they work with tensors, DataLoaders and a user's loop alike):

- ``normalize_inputs``: standardise each input feature with the training data's mean and std;
- ``sanitize_inputs``: replace NaN/Inf in the inputs with 0 before the model sees them.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..case import _is_pair
from .base import Delegating, ModelRemedy, NotApplicable, RepairContext

#: Floor on the feature std (constant features, e.g. MNIST's border pixels, are centred, not blown up).
MIN_STD = 1e-3
#: Inputs counted as already standardised: every feature mean within this of 0 and std within it of 1.
STANDARD_TOL = 0.25
#: Samples used to measure the statistics.
MAX_SAMPLES = 10_000


class InputTransform(Delegating):
    """Runs ``inner`` on transformed inputs (first positional argument only)."""

    def __init__(self, inner: nn.Module, mean: torch.Tensor | None = None, std: torch.Tensor | None = None,
                 sanitize: bool = False) -> None:
        super().__init__()
        self.inner = inner
        self.sanitize = sanitize
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        if self.sanitize:  # every floating-point input: one tensor, or those of a tuple/list/dict of inputs
            x = _sanitized(x)
        mean, std = self.mean, self.std
        if isinstance(x, torch.Tensor) and x.is_floating_point() and isinstance(mean, torch.Tensor) \
                and isinstance(std, torch.Tensor):
            x = (x - mean) / std
        return self.inner(x, *args, **kwargs)


def _sanitized(x: Any) -> Any:
    """``x`` with NaN/Inf replaced by 0 in every floating-point tensor, inside tuples, lists and dicts too."""
    if isinstance(x, torch.Tensor):
        return torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0) if x.is_floating_point() else x
    if isinstance(x, dict):
        return {k: _sanitized(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)) and not hasattr(x, "_fields"):
        return type(x)(_sanitized(v) for v in x)
    return x


def _inputs(ctx: RepairContext, case_train: Any) -> torch.Tensor:
    """Up to MAX_SAMPLES training inputs: the tensor's first rows, or a DataLoader's first batches (not only its
    first batch: per-feature statistics of one small batch put a feature that is constant there, e.g. a border
    pixel, at std MIN_STD, and its rare non-zero values elsewhere 1000x out of scale)."""
    if _is_pair(case_train):
        return case_train[0][:MAX_SAMPLES]
    if isinstance(case_train, torch.utils.data.DataLoader):
        got: list[torch.Tensor] = []
        with torch.random.fork_rng(devices=[]):  # a shuffled loader must not move the global RNG
            for batch in case_train:
                x = batch[0] if isinstance(batch, (tuple, list)) and batch else None
                if not isinstance(x, torch.Tensor):
                    break
                got.append(x)
                if sum(len(t) for t in got) >= MAX_SAMPLES:
                    break
        if got:
            return torch.cat(got)[:MAX_SAMPLES]
    if ctx.sample is None:
        raise NotApplicable("normalize_inputs: needs training inputs to measure the statistics")
    return ctx.sample[0]


class NormalizeInputs(ModelRemedy):
    """Standardise inputs feature-wise (statistics from the training data, NaN ignored)."""

    code = "normalize_inputs"

    def __init__(self, variant: str | None = None, train: Any = None) -> None:
        super().__init__(variant)
        self.train = train
        # statistics measured once per apply() (every trial's model of one recipe uses the same)
        self._stats: tuple[torch.Tensor, torch.Tensor, bool] | None = None
        self._cache = False

    def describe(self, ctx: RepairContext | None = None) -> str:
        return "standardised each input feature to zero mean and unit variance (training-data statistics)"

    def apply(self, case: Any, ctx: RepairContext | None = None) -> Any:
        self.train, self._stats, self._cache = case.train, None, True
        return super().apply(case, ctx)

    def _measure(self, ctx: RepairContext) -> tuple[torch.Tensor, torch.Tensor, bool]:
        if self._cache and self._stats is not None:
            return self._stats
        x = _inputs(ctx, self.train)
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            what = "one tensor (the model takes several inputs)" if isinstance(x, (tuple, list, dict)) else \
                "a floating-point tensor (e.g. token ids)"
            raise NotApplicable(f"{self.name}: the inputs are not {what}")
        xf = torch.where(torch.isfinite(x), x, torch.nan).double()
        mean = xf.nanmean(0)
        std = (xf - mean).pow(2).nanmean(0).sqrt()
        if bool(((mean.abs() < STANDARD_TOL) & ((std - 1).abs() < STANDARD_TOL)).all()):
            raise NotApplicable(f"{self.name}: the inputs are already standardised (every feature mean within "
                                f"{STANDARD_TOL} of 0 and std within {STANDARD_TOL} of 1)")
        mean = torch.nan_to_num(mean).to(x.dtype)
        std = torch.nan_to_num(std, nan=1.0).clamp_min(MIN_STD).to(x.dtype)
        self._stats = (mean, std, not bool(torch.isfinite(x).all()))
        return self._stats

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        mean, std, sanitize = self._measure(ctx)
        ref = next(iter(model.parameters()), None)
        device = ref.device if ref is not None else mean.device
        return InputTransform(model, mean.to(device), std.to(device), sanitize=sanitize)


class SanitizeInputs(ModelRemedy):
    """Replace NaN/Inf in the inputs with 0."""

    code = "sanitize_inputs"

    def describe(self, ctx: RepairContext | None = None) -> str:
        return "replaced NaN/Inf in the inputs with 0 before the model sees them"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        return InputTransform(model, sanitize=True)
