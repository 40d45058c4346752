"""``add_residual``: wrap runs of same-shaped blocks of an ``nn.Sequential`` in identity shortcuts,
``x + block(x)`` (He et al. 2016).

A block starts at a Linear/Conv layer and runs up to the next one (its normalization and activation
included). A block is wrapped when its layer keeps the shape (Linear in == out features; Conv with equal
channels, stride 1 and "same" padding) and at least :data:`MIN_RUN` such blocks follow each other.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from .base import LINEAR_LIKE, ModelRemedy, NotApplicable, RepairContext

#: Fewest consecutive same-shaped blocks worth wrapping (a single block gains little depth-wise).
MIN_RUN = 2


class Residual(nn.Module):
    """``x + block(x)``."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: Any) -> Any:
        return x + self.block(x)


def _keeps_shape(layer: nn.Module) -> bool:
    if isinstance(layer, nn.Linear):
        return layer.in_features == layer.out_features
    if isinstance(layer, nn.modules.conv._ConvNd):
        k = layer.kernel_size
        pad: Any = layer.padding
        same = pad == "same" or all(int(p) * 2 == (kk - 1) * d for p, kk, d in zip(pad, k, layer.dilation))
        return (layer.in_channels == layer.out_channels and all(s == 1 for s in layer.stride) and same
                and layer.groups in (1, layer.in_channels) and not isinstance(layer, nn.modules.conv._ConvTransposeNd))
    return False


def _blocks(children: list[nn.Module]) -> list[list[nn.Module]]:
    blocks: list[list[nn.Module]] = []
    for m in children:
        if isinstance(m, LINEAR_LIKE) or not blocks:
            blocks.append([m])
        else:
            blocks[-1].append(m)
    return blocks


class AddResidual(ModelRemedy):
    """Wrap runs of at least :data:`MIN_RUN` same-shaped blocks in identity shortcuts."""

    code = "add_residual"

    def describe(self, ctx: RepairContext | None = None) -> str:
        return "wrapped each run of same-shaped hidden blocks (layer + activation) in identity shortcuts x + f(x)"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        wrapped = 0
        for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
            blocks = _blocks(list(seq.children()))
            ok = [isinstance(b[0], LINEAR_LIKE) and _keeps_shape(b[0]) for b in blocks]
            new: list[nn.Module] = []
            changed = False
            i = 0
            while i < len(blocks):
                j = i
                while j < len(blocks) and ok[j]:
                    j += 1
                if j - i >= MIN_RUN:
                    new.extend(Residual(nn.Sequential(*b)) for b in blocks[i:j])
                    wrapped += j - i
                    changed = True
                    i = j
                else:
                    new.extend(blocks[i])
                    i += 1
            if changed:
                for name in list(seq._modules):
                    del seq._modules[name]
                for k, m in enumerate(new):
                    seq.add_module(str(k), m)
        if not wrapped:
            raise NotApplicable(f"{self.name}: found no run of {MIN_RUN}+ same-shaped Linear/Conv blocks inside an "
                                "nn.Sequential; add the shortcuts in your model's code")
        return model
