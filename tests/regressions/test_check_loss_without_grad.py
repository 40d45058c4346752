"""Regression: gd.check silently skipped backward when the loss did not require grad (detached loss, loss
computed under no_grad, or a model with every parameter frozen) and returned a diagnosis with no findings:
a broken set-up reported as healthy. It now raises a ModelError that says why there are no gradients, and
leaves the model as it was."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


def model():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def test_detached_loss():
    m = model()
    before = [p.clone() for p in m.parameters()]
    with pytest.raises(gd.ModelError, match="does not require grad"):
        gd.check(m, torch.randn(8, 4), torch.randn(8, 2), lambda o, y: F.mse_loss(o, y).detach())
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))
    assert all(not mod._forward_hooks for mod in m.modules())


def test_all_parameters_frozen():
    m = model().requires_grad_(False)
    with pytest.raises(gd.ModelError, match="frozen"):
        gd.check(m, torch.randn(8, 4), torch.randn(8, 2), F.mse_loss)


def test_ordinary_loss_still_checks():
    diag = gd.check(model(), torch.randn(8, 4), torch.randn(8, 2), F.mse_loss)
    assert diag.findings is not None
