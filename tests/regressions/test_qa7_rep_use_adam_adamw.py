"""Regression: use_adam applied when the recipe's optimizer was not exactly ``torch.optim.Adam``, so a recipe
already on AdamW (a subclass of Adam in this torch: Adam with decoupled weight decay, the usual transformer
recipe) was "repaired" into Adam at lr 1e-3 with AdamW's decay 0.01 turned into a coupled L2 penalty, a trial
that tests no adaptive optimizer against a non-adaptive one. An optimizer that is already an instance of the
remedy's (AdamW for use_adam) is now NotApplicable, saying so."""
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair import NotApplicable, get_remedy


def _case(optimizer_fn) -> gd.Case:
    x, y = torch.randn(20, 4), torch.randint(0, 2, (20,))
    return gd.Case(model_fn=lambda: nn.Linear(4, 2), train=(x, y), optimizer_fn=optimizer_fn, steps=2)


def test_adamw_recipe_already_uses_adam() -> None:
    with pytest.raises(NotApplicable, match="AdamW"):
        get_remedy("use_adam").apply(_case(lambda p: torch.optim.AdamW(p, lr=3e-4)))


def test_sgd_recipe_still_switches() -> None:
    new = get_remedy("use_adam").apply(_case(lambda p: torch.optim.SGD(p, lr=0.1)))
    assert type(new.make_optimizer(nn.Linear(4, 2).parameters())) is torch.optim.Adam
