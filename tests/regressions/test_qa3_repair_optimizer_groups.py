"""use_adam/use_rmsprop/use_adagrad read the weight decay of the recipe's first parameter group only (on a
throw-away parameter) and built one group with it: a recipe that decays weights but not biases/norms (the
usual two groups) got that decay on every parameter after the switch. The switched optimizer now keeps the
recipe's groups, each with its own weight decay."""
from __future__ import annotations

from collections.abc import Iterable

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext


def _two_groups(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    ps = list(params)
    return torch.optim.SGD([{"params": [p for p in ps if p.dim() > 1], "weight_decay": 1e-2},
                            {"params": [p for p in ps if p.dim() <= 1], "weight_decay": 0.0}], lr=0.1)


@pytest.mark.parametrize("code", ["use_adam", "use_rmsprop", "use_adagrad"])
def test_switch_keeps_each_groups_weight_decay(code: str) -> None:
    case = gd.Case(model_fn=lambda: nn.Linear(3, 2), train=(torch.randn(8, 3), torch.randint(0, 2, (8,))),
                   optimizer_fn=_two_groups, steps=2, batch_size=4)
    model = nn.Linear(3, 2)
    opt = get_remedy(code).apply(case, RepairContext()).make_optimizer(model.parameters())
    decay = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    assert decay == {id(model.weight): 1e-2, id(model.bias): 0.0}
