"""Regression (QA of check): a loss_fn returning a Python float (``loss.item()``) was told to "reduce it
(e.g. .mean())", advice for a non-scalar tensor. It is now told to return the loss tensor itself."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


def test_float_loss_says_return_the_tensor() -> None:
    model = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(gd.ModelError, match="return the loss tensor itself") as e:
        gd.check(model, torch.randn(8, 4), torch.randint(0, 3, (8,)), lambda o, t: F.cross_entropy(o, t).item())
    assert "reduce" not in str(e.value)


def test_vector_loss_says_reduce() -> None:
    model = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(gd.ModelError, match=r"shape \(8,\); reduce it"):
        gd.check(model, torch.randn(8, 4), torch.randint(0, 3, (8,)),
                 lambda o, t: F.cross_entropy(o, t, reduction="none"))
