"""Regression (QA): repair's minimum gain, MIN_GAIN = 0.01, was also the margin for the `-loss` metric, so for a
regression task whose validation MSE is about 0.006 no remedy could ever win: Adam cut the loss by ~75 % here
and still lost (gain 0.005 < 0.01). For `-loss` the floor is now MIN_RELATIVE_LOSS_GAIN of the baseline's
loss; accuracy keeps the one-point MIN_GAIN."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def _regression_case() -> gd.Case:
    """A tiny tanh MLP fitting a 0.1-scaled target (variance 0.0045) with SGD at a slow learning rate."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 8, generator=g)
    y = 0.1 * torch.tanh(X @ (torch.randn(8, 1, generator=g) / 8 ** 0.5))
    return gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1)),
                   train=(X[:384], y[:384]), val=(X[384:], y[384:]), loss_fn=F.mse_loss,
                   optimizer_fn=lambda p: torch.optim.SGD(p, lr=0.01), steps=150, batch_size=64, name="small_mse")


def test_a_clear_loss_improvement_below_0_01_wins_and_a_null_remedy_does_not():
    case = _regression_case()
    assert case.metric_name == "-loss"
    r = gd.repair(case, seeds=2, remedies=["use_adam", "weight_decay"], progress=False)
    base = r.baseline.loss
    adam, wd = r.trials
    assert base < 0.01 and math.isfinite(adam.loss)
    assert adam.loss < 0.6 * base and adam.gain < 0.01  # better by > 40 %, by less than 0.01 absolute
    assert r.best is adam, [(t.remedy, t.gain, t.margin) for t in r.trials]
    # weight decay 5e-4 over 150 steps changes (almost) nothing: a gain far inside the margin
    assert abs(wd.loss - base) < 0.01 * base
    assert wd.gain <= wd.margin and wd is not r.best


def test_the_floor_is_relative_for_loss_and_one_point_for_accuracy():
    from graddoctor.repair import MIN_GAIN, MIN_RELATIVE_LOSS_GAIN, default_min_gain

    assert default_min_gain("-loss", 0.005) == pytest.approx(MIN_RELATIVE_LOSS_GAIN * 0.005)
    assert default_min_gain("-loss", 50.0) == pytest.approx(MIN_RELATIVE_LOSS_GAIN * 50.0)
    assert default_min_gain("accuracy", 0.005) == MIN_GAIN == 0.01
    assert default_min_gain("my_metric", 0.005) == MIN_GAIN
    assert default_min_gain("-loss", math.nan) == MIN_GAIN  # a NaN baseline: any finite loss is a win anyway
