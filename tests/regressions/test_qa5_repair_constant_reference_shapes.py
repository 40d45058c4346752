"""Regression: the targets'-mean reference of Case.constant_loss (5f47981) was used only when the targets had the
output's shape per sample, so a regression with targets of shape (N,) and a model output (N, 1), squeezed in its
loss (a common recipe), fell back to the zero prediction (targets 0-9: 28.5 instead of their variance, 8.3), and
a model that only learned the mean still "learned". A one-value mean now broadcasts over any output."""
import math

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def test_scalar_targets_with_a_column_output():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(400, 4, generator=g)
    y = torch.randint(0, 10, (400,), generator=g).float()
    case = gd.Case(model_fn=lambda: nn.Linear(4, 1), train=(X[:300], y[:300]), val=(X[300:], y[300:]),
                   loss_fn=lambda out, t: F.mse_loss(out.squeeze(1), t), steps=2)
    expected = float(F.mse_loss(y[:300].mean().expand(100), y[300:]))
    assert math.isclose(case.constant_loss(), expected, rel_tol=1e-5)
