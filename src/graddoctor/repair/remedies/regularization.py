"""``weight_decay`` (L2, through the optimizer) and ``dropout`` (after hidden activations of Sequentials)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ...stats.activations import module_activation_kind
from ..case import Case
from .base import (
    ModelRemedy,
    NotApplicable,
    RecipeRemedy,
    RepairContext,
    leaf_order,
    output_module,
    probe_optimizer,
    sequence_of,
)

#: L2 coefficient (5e-4: Krizhevsky et al. 2012 and the usual default for small nets).
WEIGHT_DECAY = 5e-4
#: Dropout probability after hidden activations (Srivastava et al. 2014 use 0.5 for large hidden layers;
#: the small nets graddoctor repairs lose too much capacity at 0.5, so 0.2).
DROPOUT_P = 0.2


class WeightDecay(RecipeRemedy):
    """Set ``weight_decay`` on every parameter group of a recipe that decays none (a recipe that decays some
    groups, the weights but not the biases and norms, already regularises, and the rest is on purpose)."""

    code = "weight_decay"

    def check(self, case: Case, ctx: RepairContext) -> None:
        opt = probe_optimizer(case)
        if "weight_decay" not in opt.defaults:
            raise NotApplicable(f"{self.name}: {type(opt).__name__} has no weight_decay option")
        decayed = [float(g.get("weight_decay") or 0) > 0 for g in opt.param_groups]
        if all(decayed):
            raise NotApplicable(f"{self.name}: the recipe already uses weight decay")
        if any(decayed):  # the usual recipe: decay on the weights, none on biases and norms, on purpose
            raise NotApplicable(f"{self.name}: the recipe already uses weight decay on {sum(decayed)} of its "
                                f"{len(decayed)} parameter groups; the others (typically biases and norms) are "
                                "left without it on purpose")

    def describe(self, ctx: RepairContext | None = None) -> str:
        return f"added L2 weight decay {WEIGHT_DECAY:g}"

    def wrap(self, optimizer_fn: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer], case: Case,
             ctx: RepairContext) -> Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]:
        def fn(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
            opt = optimizer_fn(params)
            for g in opt.param_groups:
                if not g.get("weight_decay"):
                    g["weight_decay"] = WEIGHT_DECAY
            return opt

        return fn


class AddDropout(ModelRemedy):
    """Insert ``nn.Dropout(DROPOUT_P)`` after every hidden activation module inside an nn.Sequential."""

    code = "dropout"

    def describe(self, ctx: RepairContext | None = None) -> str:
        return f"inserted dropout (p={DROPOUT_P:g}) after every hidden activation"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        leaves = leaf_order(model)
        # the output module: the one whose result the forward returns (registration order without a batch)
        ran = output_module(model, ctx.sample[0]) if ctx.sample is not None else None
        last = ran if ran is not None else (leaves[-1][1] if leaves else None)
        added = 0
        for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
            children = sequence_of(seq)
            new: list[nn.Module] = []
            for i, m in enumerate(children):
                new.append(m)
                nxt = children[i + 1] if i + 1 < len(children) else None
                if module_activation_kind(m) is not None and m is not last and not isinstance(nxt, nn.Dropout):
                    new.append(nn.Dropout(DROPOUT_P))
                    added += 1
            if len(new) != len(children):
                for name in list(seq._modules):
                    del seq._modules[name]
                for k, m in enumerate(new):
                    seq.add_module(str(k), m)
        if not added:
            raise NotApplicable(f"{self.name}: found no hidden activation module inside an nn.Sequential to put "
                                "dropout after; add it in your model's code")
        return model
