"""``guard_unsafe_op``: run the model with its numerically unsafe functional calls guarded.

A wrapper module intercepts, while the model runs, the usual first sources of NaN/Inf:

- ``log(softmax(z))`` and ``log(sigmoid(z))`` become ``log_softmax(z)`` and ``logsigmoid(z)``: the
  probabilities underflow to exactly 0 for confident predictions, and ``log(0) = -inf`` (the exact,
  stable rewrite keeps the gradient, which clamping would cut);
- any other ``log``/``log2``/``log10``, ``sqrt``/``rsqrt``: input clamped to >= EPS;
- ``exp``: input clamped to <= MAX_EXP.

It applies only when one forward pass on a training batch actually calls one of them.
"""
from __future__ import annotations

import weakref
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from .base import Delegating, ModelRemedy, NotApplicable, RepairContext, probe_run

#: Smallest input passed to log/sqrt/rsqrt (float32 resolves 1e-7 relative to 1; 1e-6 keeps log finite).
EPS = 1e-6
#: Largest input passed to exp (exp(80) ~ 5.5e34 stays finite in float32, whose max is ~3.4e38).
MAX_EXP = 80.0

_LOWER = {torch.log, torch.Tensor.log, torch.log2, torch.Tensor.log2, torch.log10, torch.Tensor.log10,
          torch.sqrt, torch.Tensor.sqrt, torch.rsqrt, torch.Tensor.rsqrt}
_UPPER = {torch.exp, torch.Tensor.exp}
_LOG = {torch.log, torch.Tensor.log}
_SOFTMAX = {torch.softmax, torch.Tensor.softmax, F.softmax}
_SIGMOID = {torch.sigmoid, torch.Tensor.sigmoid, F.sigmoid}


class _Guard(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.hits = 0
        # output of softmax/sigmoid -> the exact log of it
        self._probs: dict[int, tuple[Any, Any]] = {}  # id -> (weak reference, exact log); one forward only

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        x = args[0] if args else None
        if not (isinstance(x, torch.Tensor) and x.is_floating_point()):
            return func(*args, **kwargs)
        if func in _SOFTMAX or func in _SIGMOID:
            out = func(*args, **kwargs)
            if func in _SOFTMAX:
                dim = args[1] if len(args) > 1 else kwargs.get("dim")
                exact: Any = lambda z=x, d=dim: F.log_softmax(z, dim=d)  # noqa: E731
            else:
                exact = lambda z=x: F.logsigmoid(z)  # noqa: E731
            self._probs[id(out)] = (weakref.ref(out), exact)
            return out
        entry = self._probs.get(id(x)) if func in _LOG else None
        if entry is not None and entry[0]() is x:
            self.hits += 1
            return entry[1]()
        if func in _LOWER:
            self.hits += 1
            return func(x.clamp_min(EPS), *args[1:], **kwargs)
        if func in _UPPER:
            self.hits += 1
            return func(x.clamp_max(MAX_EXP), *args[1:], **kwargs)
        return func(*args, **kwargs)


class Guarded(Delegating):
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
        return f"guarded the model's unsafe ops: log(softmax/sigmoid) -> log_softmax/logsigmoid, log/sqrt inputs " \
               f">= {EPS:g}, exp inputs <= {MAX_EXP:g}"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        if ctx.sample is None:
            raise NotApplicable(f"{self.name}: needs a training batch to find the unsafe calls")
        guard = _Guard()
        with guard:
            probe_run(model, ctx.sample[0])
        if not guard.hits:
            raise NotApplicable(f"{self.name}: the model's forward calls no log, sqrt, rsqrt or exp")
        return Guarded(model)
