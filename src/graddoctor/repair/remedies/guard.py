"""``guard_unsafe_op``: run the model with its numerically unsafe functional calls guarded.

A wrapper module intercepts, while the model runs, ``log``/``log2``/``log10`` (input clamped to >= EPS),
``sqrt``/``rsqrt`` (input clamped to >= EPS) and ``exp`` (input clamped to <= MAX_EXP), which are the
usual first sources of NaN/Inf (Cockpit and DeepDiagnosis list the same operations). It applies only when
one forward pass on a training batch actually calls one of them.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .base import ModelRemedy, NotApplicable, RepairContext, probe_run

#: Smallest input passed to log/sqrt/rsqrt (float32 resolves 1e-7 relative to 1; 1e-6 keeps log finite).
EPS = 1e-6
#: Largest input passed to exp (exp(80) ~ 5.5e34 stays finite in float32, whose max is ~3.4e38).
MAX_EXP = 80.0

_LOWER = {torch.log, torch.Tensor.log, torch.log2, torch.Tensor.log2, torch.log10, torch.Tensor.log10,
          torch.sqrt, torch.Tensor.sqrt, torch.rsqrt, torch.Tensor.rsqrt}
_UPPER = {torch.exp, torch.Tensor.exp}


class _Guard(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.hits = 0

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if args and isinstance(args[0], torch.Tensor) and args[0].is_floating_point():
            if func in _LOWER:
                self.hits += 1
                return func(args[0].clamp_min(EPS), *args[1:], **kwargs)
            if func in _UPPER:
                self.hits += 1
                return func(args[0].clamp_max(MAX_EXP), *args[1:], **kwargs)
        return func(*args, **kwargs)


class Guarded(nn.Module):
    """Runs ``inner`` with log/sqrt/rsqrt/exp inputs clamped to their safe range."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        with _Guard():
            return self.inner(*args, **kwargs)


class GuardUnsafeOps(ModelRemedy):
    """Wrap the model so its log/sqrt/rsqrt/exp calls cannot produce NaN/Inf from out-of-range inputs."""

    code = "guard_unsafe_op"

    def describe(self, ctx: RepairContext | None = None) -> str:
        return f"guarded log/sqrt (inputs >= {EPS:g}) and exp (inputs <= {MAX_EXP:g}) in the model's forward"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        if ctx.sample is None:
            raise NotApplicable(f"{self.name}: needs a training batch to find the unsafe calls")
        guard = _Guard()
        with guard:
            probe_run(model, ctx.sample[0])
        if not guard.hits:
            raise NotApplicable(f"{self.name}: the model's forward calls no log, sqrt, rsqrt or exp")
        return Guarded(model)
