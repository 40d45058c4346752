"""``lsuv_init``: layer-sequential unit-variance init (Mishkin & Matas 2016), data-driven from one batch.

Orthogonal init first, then, layer by layer in forward order, rescale each Linear/Conv weight until its
output has unit variance on the batch.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import (
    LINEAR_LIKE,
    ModelRemedy,
    NotApplicable,
    RepairContext,
    forward_trace,
    reinit_weight,
    scale_weight,
    to_model_device,
    trainable,
)

#: Stop rescaling a layer when its output variance is within this distance of 1 (the paper's Tol_var = 0.1).
TOL_VAR = 0.1
#: At most this many rescaling passes per layer (the paper's T_max = 10).
MAX_ITER = 10


class LSUVInit(ModelRemedy):
    """Orthogonal init, then rescale each layer to unit output variance on a training batch."""

    code = "lsuv_init"

    def describe(self, ctx: RepairContext | None = None) -> str:
        return "LSUV init: orthogonal weights rescaled layer by layer to unit output variance on a training batch"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        if ctx.sample is None:
            raise NotApplicable(f"{self.name}: needs a batch of training data to measure output variances")
        layers = [m for m in model.modules() if isinstance(m, LINEAR_LIKE) and trainable(m)]  # frozen ones stay
        if not layers:
            raise NotApplicable(f"{self.name}: the model has no trainable Linear or Conv layer to rescale")
        x = to_model_device(model, ctx.sample[0])
        was = model.training
        model.eval()  # BatchNorm/Dropout must not change while measuring (and running stats stay untouched)
        try:
            with torch.no_grad():
                for m in layers:
                    reinit_weight(m, nn.init.orthogonal_)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                for m in _forward_order(model, layers, x):  # layer-sequential: each after those before it
                    self._rescale(model, m, x)
        finally:
            model.train(was)
        return model

    @staticmethod
    def _rescale(model: nn.Module, layer: Any, x: torch.Tensor) -> None:
        seen: list[torch.Tensor] = []
        handle = layer.register_forward_hook(lambda mod, i, o: seen.append(o.detach()))
        try:
            for _ in range(MAX_ITER):
                seen.clear()
                model(x)
                if not seen:
                    return  # the layer did not run on this input
                var = float(torch.cat([s.reshape(-1) for s in seen]).var())
                if not torch.isfinite(torch.tensor(var)) or var <= 0 or abs(var - 1.0) < TOL_VAR:
                    return
                scale_weight(layer, var ** -0.5)
        finally:
            handle.remove()


def _forward_order(model: nn.Module, layers: list[Any], x: Any) -> list[Any]:
    """``layers`` in the order a forward pass on ``x`` first runs them (``__init__`` order is forward order only
    inside an nn.Sequential: a head defined before the body was rescaled before the layers that feed it, and
    their later rescaling moved its output variance off 1 again); layers that did not run keep their place at
    the end; registration order when the pass fails."""
    trace = forward_trace(model, x)
    if trace is None:
        return layers
    ran: list[Any] = []
    for m, _ in trace[0]:
        if any(m is layer for layer in layers) and all(m is not r for r in ran):
            ran.append(m)
    return ran + [m for m in layers if all(m is not r for r in ran)]
