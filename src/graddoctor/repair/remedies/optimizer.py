"""``use_adam`` / ``use_rmsprop`` / ``use_adagrad``: switch the optimizer, keeping the recipe's parameter groups and
each group's weight decay.

Learning rates are the widely used defaults (Keras and the original papers): Adam 1e-3 (Kingma & Ba 2015),
RMSprop 1e-3 (Hinton's lecture 6e), AdaGrad 1e-2 (Duchi et al. 2011; Keras' default).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ..case import Case
from .base import NotApplicable, RecipeRemedy, RepairContext, probe_optimizer

#: code -> (optimizer class, learning rate).
OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], float]] = {
    "use_adam": (torch.optim.Adam, 1e-3),
    "use_rmsprop": (torch.optim.RMSprop, 1e-3),
    "use_adagrad": (torch.optim.Adagrad, 1e-2),
}


class SwitchOptimizer(RecipeRemedy):
    """Replace the recipe's optimizer with the one named by ``code``."""

    code = "use_adam"

    def describe(self, ctx: RepairContext | None = None) -> str:
        cls, lr = OPTIMIZERS[self.code]
        return f"switched the optimizer to {cls.__name__} (lr={lr:g})"

    def check(self, case: Case, ctx: RepairContext) -> None:
        cls, _ = OPTIMIZERS[self.code]
        opt = probe_optimizer(case)
        if isinstance(opt, cls):  # AdamW is an Adam (a subclass): switching it would only drop its decoupled decay
            what = cls.__name__ if type(opt) is cls else f"{type(opt).__name__}, a {cls.__name__}"
            raise NotApplicable(f"{self.name}: the recipe already uses {what}")

    def wrap(self, optimizer_fn: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer], case: Case,
             ctx: RepairContext) -> Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]:
        cls, lr = OPTIMIZERS[self.code]

        def fn(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
            # The recipe's own optimizer, built once on the real parameters, gives its parameter groups and each
            # group's weight decay (e.g. none on biases and norms): those are kept, only the algorithm changes.
            groups = [{"params": list(g["params"]), "weight_decay": float(g.get("weight_decay", 0.0) or 0.0)}
                      for g in optimizer_fn(params).param_groups]
            return cls([g for g in groups if g["params"]], lr=lr)  # type: ignore[call-arg]

        return fn


class UseAdam(SwitchOptimizer):
    code = "use_adam"


class UseRMSprop(SwitchOptimizer):
    code = "use_rmsprop"


class UseAdagrad(SwitchOptimizer):
    code = "use_adagrad"
