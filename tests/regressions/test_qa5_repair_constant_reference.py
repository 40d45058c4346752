"""Regression: "learns" compares a remedy's validation loss with a constant output's (Case.constant_loss), but
outside class scores that constant was always zeros. For a sigmoid-output model under binary_cross_entropy the
zero probability is log 0 (clamped by torch to a loss of 46 at a 46 % positive rate), so any model "learned",
including a baseline stuck at ln 2; for a regression the zero prediction ignores the targets' mean (targets 0-9:
28.5 against a variance of 8.3), so a model that only learned the mean "learned from its inputs". The reference
is now the lower of zeros and the training targets' mean (0.69 and 8.3 here); a constant with a loss of 0
(constant targets) is still no reference."""
import math

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def test_binary_cross_entropy_on_probabilities():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(300, 8, generator=g)
    y = (X[:, 0] > 0.1).float()[:, None]
    case = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(8, 1), nn.Sigmoid()), train=(X[:200], y[:200]),
                   val=(X[200:], y[200:]), loss_fn=F.binary_cross_entropy, steps=2)
    p = float(y[:200].mean())
    expected = float(F.binary_cross_entropy(torch.full_like(y[200:], p), y[200:]))
    assert math.isclose(case.constant_loss(), expected, rel_tol=1e-5) and expected < 0.75


def test_regression_mean_prediction():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(400, 4, generator=g)
    y = torch.randint(0, 10, (400, 1), generator=g).float()
    case = gd.Case(model_fn=lambda: nn.Linear(4, 1), train=(X[:300], y[:300]), val=(X[300:], y[300:]),
                   loss_fn=F.mse_loss, steps=2)
    expected = float(F.mse_loss(y[:300].mean().expand(100, 1), y[300:]))
    assert math.isclose(case.constant_loss(), expected, rel_tol=1e-5)
    assert case.constant_loss() < 0.5 * float((y[300:] ** 2).mean())  # not the zero prediction's


def test_logits_keep_the_zero_reference():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(300, 8, generator=g)
    y = (X[:, 0] > 0).float()[:, None]
    case = gd.Case(model_fn=lambda: nn.Linear(8, 1), train=(X[:200], y[:200]), val=(X[200:], y[200:]),
                   loss_fn=F.binary_cross_entropy_with_logits, steps=2)
    assert case.constant_loss() <= math.log(2) + 1e-6
