"""``add_residual``: wrap runs of same-shaped blocks of an ``nn.Sequential`` in identity shortcuts,
``x + block(x)`` (He et al. 2016).

A block starts at a Linear/Conv layer and runs up to the next one (its normalization and activation
included); an ``nn.Sequential`` of plain layers holding a Linear/Conv (``nn.Sequential(*[block() for _ in
range(n)])`` with each block ``nn.Sequential(nn.Linear, nn.Tanh)``) is a block of its own, wrapped when it keeps
the shape of what it gets on the training batch (custom blocks and transformer layers are not: they may hold
shortcuts already). A block is wrapped when its layer keeps the shape (Linear in == out features; Conv with equal
channels, stride 1 and "same" padding), is not the output layer (the Linear/Conv that runs last), is not frozen
(``requires_grad=False``: a pretrained backbone keeps its features) and at least
:data:`MIN_RUN` such blocks follow each other. A module
that changes the shape (pooling, Flatten, padding, upsampling, ...: a known type, or one whose output shape
differs from its input's on a training batch) ends the block before it and is left outside every shortcut:
``x + f(x)`` needs ``f(x)`` shaped like ``x``.

A block without a normalization layer gets a learnable branch scale initialised to zero, ``x + a * block(x)``
with ``a = 0`` at the start (ReZero, Bachlechner et al. 2021; SkipInit, De & Smith 2020): without
normalization each plain shortcut adds the branch's variance to the trunk's, so the forward signal grows by
a factor of about (1 + gain) per block, ~2^L over L He-scaled blocks. Measured on the repair benchmark: a
20-block ReLU MLP (Xavier-scaled, SGD lr 0.05, 200 steps) reaches 0.086 with plain shortcuts and 0.83 with
``a = 0``; the sigmoid setups 0.19-0.66 plain against 0.55-0.82. Blocks with BatchNorm/LayerNorm/GroupNorm
keep the plain shortcut of He et al.
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
    output_module,
    probe_run,
    sequence_of,
    trainable,
)

#: Fewest consecutive same-shaped blocks worth wrapping (a single block gains little depth-wise).
MIN_RUN = 2


#: Normalization layers that make a block keep the plain shortcut (no zero-initialised branch scale).
NORMALIZATION = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)


class Residual(nn.Module):
    """``x + block(x)``, or ``x + scale * block(x)`` with a learnable ``scale`` starting at 0 (ReZero)."""

    def __init__(self, block: nn.Module, rezero: bool = False) -> None:
        super().__init__()
        self.block = block
        # on the block's device and dtype: a CUDA (or float64) model must not get a CPU float32 parameter
        ref = next(iter(block.parameters()), None)
        zero = torch.zeros((), device=ref.device, dtype=ref.dtype) if ref is not None else torch.zeros(())
        self.scale = nn.Parameter(zero) if rezero else None

    def forward(self, x: Any) -> Any:
        if self.scale is None:
            return x + self.block(x)
        return x + self.scale * self.block(x)


def _normalized(block: list[nn.Module]) -> bool:
    return any(isinstance(m, NORMALIZATION) for b in block for m in b.modules())


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


#: Module types that change the shape of what they get (a block containing one cannot be ``x + f(x)``).
RESHAPING: tuple[type[nn.Module], ...] = (
    nn.Flatten, nn.Unflatten, nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd, nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._LPPoolNd,
    nn.modules.pooling._MaxUnpoolNd, nn.FractionalMaxPool2d, nn.FractionalMaxPool3d, nn.Upsample, nn.PixelShuffle,
    nn.PixelUnshuffle, nn.modules.padding._ConstantPadNd, nn.modules.padding._ReflectionPadNd,
    nn.modules.padding._ReplicationPadNd, nn.modules.padding._CircularPadNd, nn.Fold, nn.Unfold, nn.RNNBase,
    nn.Embedding, nn.EmbeddingBag)


def _reshaping(model: nn.Module, sample: Any) -> set[int]:
    """ids of the modules inside a Sequential whose output shape differs from their (single tensor) input's on
    ``sample`` (one forward pass that changes nothing); empty when there is no sample or the pass fails."""
    return _shapes(model, sample)[0]


def _shapes(model: nn.Module, sample: Any) -> tuple[set[int], set[int]]:
    """(ids of the modules inside a Sequential that changed the shape of what they got, ids of those that ran) in
    one forward pass on ``sample``; two empty sets when there is no sample or the pass fails."""
    if sample is None:
        return set(), set()
    found: set[int] = set()
    ran: set[int] = set()

    def hook(m: nn.Module, args: Any, out: Any) -> None:
        ran.add(id(m))
        x = args[0] if len(args) == 1 else None
        if not (isinstance(x, torch.Tensor) and isinstance(out, torch.Tensor) and x.shape == out.shape):
            found.add(id(m))

    handles = [m.register_forward_hook(hook) for seq in model.modules() if isinstance(seq, nn.Sequential)
               for m in seq.children()]
    try:
        probe_run(model, sample[0] if isinstance(sample, (tuple, list)) else sample)
    except Exception:
        return set(), set()
    finally:
        for h in handles:
            h.remove()
    return found, ran


def _layer_block(m: nn.Module) -> bool:
    """An ``nn.Sequential`` of plain layers that holds a Linear/Conv (``nn.Sequential(nn.Linear(16, 16),
    nn.Tanh())``): a block of its own inside the Sequential that lists it, as a Linear/Conv is. Only a chain of
    leaf modules: a custom block or a transformer layer may hold shortcuts of its own already."""
    children = list(m.children()) if isinstance(m, nn.Sequential) else []
    return (bool(children) and any(isinstance(c, LINEAR_LIKE) for c in children)
            and all(isinstance(c, LINEAR_LIKE) or not list(c.children()) for c in children))


def _frozen(block: list[nn.Module]) -> bool:
    """Whether a block's Linear/Conv layers are frozen (``requires_grad=False``, a pretrained backbone)."""
    layers = [m for x in block for m in x.modules() if isinstance(m, LINEAR_LIKE)]
    return bool(layers) and not any(trainable(m) for m in layers)


def _blocks(children: list[nn.Module], reshaping: set[int] | None = None) -> list[list[nn.Module]]:
    """Children split into blocks: each Linear/Conv starts one; a module that changes the shape is a block of
    its own (never inside a shortcut); anything else joins the block before it."""
    blocks: list[list[nn.Module]] = []
    for m in children:
        if isinstance(m, (*LINEAR_LIKE, *RESHAPING)) or _layer_block(m) or id(m) in (reshaping or set()) or not blocks:
            blocks.append([m])
        else:
            blocks[-1].append(m)
    return blocks


class AddResidual(ModelRemedy):
    """Wrap runs of at least :data:`MIN_RUN` same-shaped blocks in identity shortcuts."""

    code = "add_residual"

    def describe(self, ctx: RepairContext | None = None) -> str:
        return ("wrapped each run of same-shaped hidden blocks (layer + activation) in identity shortcuts x + f(x) "
                "(x + a*f(x), a learnable from 0, where a block has no normalization layer)")

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        wrapped = frozen = 0
        reshaping, ran = _shapes(model, ctx.sample)
        # the output layer (the Linear/Conv that runs last; the last registered without a batch) makes the
        # prediction, it is no hidden block: x + f(x) there would add the last hidden features to the output
        last = output_module(model, ctx.sample[0], LINEAR_LIKE) if ctx.sample is not None else None
        linear = [m for m in model.modules() if isinstance(m, LINEAR_LIKE)]
        output = last if last is not None else (linear[-1] if linear else None)
        inside: set[int] = set()  # modules already inside a shortcut: a Sequential there is not wrapped again
        for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
            if id(seq) in inside:
                continue
            blocks = _blocks(sequence_of(seq), reshaping)
            # a Linear/Conv block whose layer keeps the shape, or a container block (a Sequential of blocks) that
            # ran on the batch without changing its shape; neither may hold the output layer
            ok = [(_keeps_shape(b[0]) if isinstance(b[0], LINEAR_LIKE)
                   else _layer_block(b[0]) and id(b[0]) in ran and id(b[0]) not in reshaping)
                  and all(m is not output for x in b for m in x.modules()) for b in blocks]
            # a frozen (pretrained) layer's block stays as it is: x + a*f(x) with a = 0 would replace its features
            # by its input at the start
            cold = [_frozen(b) for b in blocks]
            frozen += sum(o and c for o, c in zip(ok, cold))
            ok = [o and not c for o, c in zip(ok, cold)]
            new: list[nn.Module] = []
            changed = False
            i = 0
            while i < len(blocks):
                j = i
                while j < len(blocks) and ok[j]:
                    j += 1
                if j - i >= MIN_RUN:
                    new.extend(Residual(nn.Sequential(*b), rezero=not _normalized(b)) for b in blocks[i:j])
                    inside.update(id(m) for b in blocks[i:j] for x in b for m in x.modules())
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
            why = f" ({frozen} same-shaped blocks are frozen, requires_grad=False, and keep their features)" \
                if frozen else ""
            raise NotApplicable(f"{self.name}: found no run of {MIN_RUN}+ same-shaped Linear/Conv blocks inside an "
                                f"nn.Sequential{why}; add the shortcuts in your model's code")
        return model
