"""A lower_learning_rate / raise_learning_rate object kept the factor measured on the first recipe it was applied
to: passed again (``repair(case2, remedies=[same_object])``, or applied to a second recipe), it reused that
stale factor and skipped the "already small/large" check on the new baseline. The factor is now measured on
each recipe's baseline, unless one was given."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor import LayerInfo, RunData
from graddoctor.repair import NotApplicable, get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.learning_rate import LowerLearningRate


def _baseline(update: float) -> RunData:
    layers = [LayerInfo(index=i, name=str(i), type="Linear", order=i) for i in range(2)]
    return RunData(layers=layers, steps=np.arange(10), layer_stats={"update_ratio": np.full((2, 10), update)},
                   step_stats={"total_grad_norm": np.ones(10)})


CASE = gd.Case(model_fn=lambda: nn.Linear(3, 2), train=(torch.randn(8, 3), torch.randint(0, 2, (8,))),
               optimizer_fn=lambda p: torch.optim.SGD(p, lr=0.5), steps=40)


def _lr(case: gd.Case) -> float:
    return case.make_optimizer(nn.Linear(3, 2).parameters()).param_groups[0]["lr"]


def test_lower_learning_rate_measures_each_baseline() -> None:
    remedy = get_remedy("lower_learning_rate")
    assert _lr(remedy.apply(CASE, RepairContext(baseline=_baseline(0.5)))) == pytest.approx(0.5 * 0.02)
    assert _lr(remedy.apply(CASE, RepairContext(baseline=_baseline(0.1)))) == pytest.approx(0.5 * 0.1)
    with pytest.raises(NotApplicable, match="already small"):
        remedy.apply(CASE, RepairContext(baseline=_baseline(1e-4)))


def test_raise_learning_rate_measures_each_baseline() -> None:
    remedy = get_remedy("raise_learning_rate")
    assert _lr(remedy.apply(CASE, RepairContext(baseline=_baseline(1e-3)))) == pytest.approx(0.5 * 10)
    with pytest.raises(NotApplicable, match="already large"):
        remedy.apply(CASE, RepairContext(baseline=_baseline(0.5)))


def test_a_given_factor_is_kept() -> None:
    remedy = LowerLearningRate(factor=0.5)
    for update in (0.5, 0.1):
        assert _lr(remedy.apply(CASE, RepairContext(baseline=_baseline(update)))) == pytest.approx(0.25)
