"""``add_batchnorm`` / ``add_layernorm``: insert a normalization layer after each hidden Linear/Conv layer of
every ``nn.Sequential`` in the model, between the layer and its activation (Ioffe & Szegedy 2015 normalise
the pre-activation x = Wu + b). The output layer (the Linear/Conv that runs last in a forward pass on a
training batch; the last one registered without a batch) is never normalised, nor is a frozen layer
(``requires_grad=False``: a pretrained backbone keeps its features, as the re-initialising remedies keep its
weights).

BatchNorm: ``BatchNorm1d`` after Linear, ``BatchNorm{1,2,3}d`` after Conv{1,2,3}d. LayerNorm: ``LayerNorm``
over the features after Linear, ``GroupNorm(1, C)`` (LayerNorm over channels and positions) after Conv.
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
    leaf_order,
    sequence_of,
    trainable,
)

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d)


def _width(layer: Any) -> int:
    return int(layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels)


class FeatureBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the last dimension (the features) of a Linear's output with more than two dimensions, e.g.
    ``(N, T, F)`` of a per-time-step Linear: ``nn.BatchNorm1d`` reads dimension 1 as the features, so on such an
    output it failed, or normalised over the time steps when T == F."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() <= 2:
            return super().forward(x)
        flat = x.reshape(-1, x.shape[-1])  # every position is a sample of the F features
        return super().forward(flat).reshape(x.shape)


def make_norm(layer: Any, kind: str, out_dim: int | None = None) -> nn.Module:
    """The normalization module that fits after ``layer`` (``out_dim``: how many dimensions its output has on a
    training batch, when known)."""
    n = _width(layer)
    if kind == "batch":
        if isinstance(layer, nn.Linear):
            return FeatureBatchNorm(n) if out_dim is not None and out_dim > 2 else nn.BatchNorm1d(n)
        return {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[len(layer.kernel_size)](n)
    return nn.LayerNorm(n) if isinstance(layer, nn.Linear) else nn.GroupNorm(1, n)


class AddNorm(ModelRemedy):
    """Insert BatchNorm (``add_batchnorm``) or LayerNorm (``add_layernorm``) after hidden layers."""

    code = "add_batchnorm"
    kind = "batch"

    def describe(self, ctx: RepairContext | None = None) -> str:
        what = "BatchNorm" if self.kind == "batch" else "LayerNorm"
        return f"inserted {what} after every hidden linear/conv layer, before its activation"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        leaves = leaf_order(model)
        linear = [m for _, m in leaves if isinstance(m, LINEAR_LIKE)]
        # the output layer is the Linear/Conv that runs last (a head defined before the body in __init__ is still
        # the output: its logits must not be normalised); registration order without a batch
        trace = forward_trace(model, ctx.sample[0]) if ctx.sample is not None else None
        calls = trace[0] if trace is not None else []
        # how many dimensions each Linear's output has: (N, F), or (N, T, F) for a per-time-step Linear
        dims = {id(mod): o.dim() for mod, o in calls if isinstance(mod, nn.Linear) and isinstance(o, torch.Tensor)}
        ran = next((mod for mod, _ in reversed(calls) if isinstance(mod, LINEAR_LIKE)), None)
        output = ran if ran is not None else (linear[-1] if linear else None)
        seqs = [m for m in model.modules() if isinstance(m, nn.Sequential)]
        added = frozen = 0
        for seq in seqs:
            children = sequence_of(seq)
            new: list[nn.Module] = []
            for i, m in enumerate(children):
                new.append(m)
                nxt = children[i + 1] if i + 1 < len(children) else None
                if isinstance(m, LINEAR_LIKE) and m is not output and not isinstance(nxt, _NORMS):
                    if not trainable(m):  # a frozen (pretrained) layer's features stay as they are
                        frozen += 1
                        continue
                    new.append(make_norm(m, self.kind, dims.get(id(m))).to(m.weight.device, m.weight.dtype))
                    added += 1
            if len(new) != len(children):
                for name in list(seq._modules):
                    del seq._modules[name]
                for i, m in enumerate(new):
                    seq.add_module(str(i), m)
        if not added:
            why = f" (the {frozen} without one are frozen, requires_grad=False, and keep their features)" if frozen \
                else ""
            raise NotApplicable(f"{self.name}: found no hidden Linear/Conv layer inside an nn.Sequential without "
                                f"a normalization after it{why}; add the normalization in your model's code")
        return model


class AddBatchNorm(AddNorm):
    code, kind = "add_batchnorm", "batch"


class AddLayerNorm(AddNorm):
    code, kind = "add_layernorm", "layer"
