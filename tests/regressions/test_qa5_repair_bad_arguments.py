"""Regression: gd.repair's own arguments were not checked. ``seeds=1.5`` raised a bare ``TypeError: 'float'
object is not iterable``; ``seeds=[0, 0]`` trained one run twice and reported a seed-to-seed spread of 0 (the
margin a remedy must beat); ``remedies="he_init"`` was read as the codes "h", "e", ... ("graddoctor has no
remedy 'h'"); ``budget_s=nan`` never stopped and a negative budget stopped after one remedy without a word;
``min_gain=-1`` let a remedy win by doing worse than the baseline; ``max_trials=-1`` was taken as 0 and
``watch_every=0`` failed with "every must be a positive integer". Now each raises CaseError naming the
argument, the value and what it must be, before any training, and a single remedy code may be a string."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.repair.case import CaseError


def _case(steps: int = 2) -> gd.Case:
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(32, 4, generator=g), torch.randint(0, 2, (32,), generator=g)
    return gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)), train=(X, y),
                   loss_fn=F.cross_entropy, steps=steps, batch_size=16)


@pytest.mark.parametrize("kwargs, named", [
    ({"seeds": 1.5}, "seeds"), ({"seeds": [0, 0]}, "more than once"), ({"seeds": [0, 0.5]}, "whole numbers"),
    ({"seeds": "2"}, "seeds"), ({"seeds": 0}, "seeds"),
    ({"budget_s": math.nan}, "budget_s"), ({"budget_s": -5}, "budget_s"),
    ({"min_gain": -1.0}, "min_gain"), ({"min_gain": math.nan}, "min_gain"),
    ({"max_trials": -1}, "max_trials"), ({"max_trials": 1.5}, "max_trials"), ({"watch_every": 0}, "watch_every"),
])
def test_bad_argument_is_named_before_training(kwargs, named):
    def never():
        raise AssertionError("trained before checking the arguments")

    case = _case()
    case = case.replace(model_fn=never)
    with pytest.raises(CaseError, match=named):
        gd.repair(case, progress=False, **kwargs)


def test_one_remedy_code_as_a_string():
    result = gd.repair(_case(), seeds=1, remedies="he_init", progress=False)
    assert [t.remedy for t in result.trials] == ["he_init"]


def test_limits_that_are_fine_still_run():
    result = gd.repair(_case(), seeds=[3, 1], budget_s=math.inf, max_trials=0, min_gain=0.0, watch_every=1,
                       progress=False)
    assert result.baseline.seeds == [3, 1] and result.trials == []
