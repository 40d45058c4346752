"""Regression: the weight_decay remedy applied unless every parameter group already decayed, and then set 5e-4
on the groups without decay: the usual recipe, decay on the weights and none on biases and norms on purpose
(transformers, BERT-style groups), had its biases and norm scales decayed and was reported as "added L2 weight
decay 5e-4", as if it had none. A recipe that decays any group already uses weight decay: NotApplicable."""
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair import NotApplicable, get_remedy
from graddoctor.repair.remedies import RepairContext


def _case(optimizer_fn) -> gd.Case:
    x, y = torch.randn(20, 4), torch.randint(0, 2, (20,))
    return gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2)),
                   train=(x, y), optimizer_fn=optimizer_fn, steps=2)


def grouped(params):
    ps = list(params)
    return torch.optim.AdamW([{"params": [p for p in ps if p.dim() > 1], "weight_decay": 0.01},
                              {"params": [p for p in ps if p.dim() <= 1], "weight_decay": 0.0}], lr=1e-3)


def test_weights_decayed_biases_not_is_already_weight_decay() -> None:
    with pytest.raises(NotApplicable, match="1 of its 2 parameter groups"):
        get_remedy("weight_decay").apply(_case(grouped), RepairContext())


def test_no_decay_still_gets_it() -> None:
    new = get_remedy("weight_decay").apply(_case(lambda p: torch.optim.SGD(p, lr=0.1)), RepairContext())
    opt = new.make_optimizer(nn.Linear(2, 2).parameters())
    assert all(g["weight_decay"] > 0 for g in opt.param_groups)
