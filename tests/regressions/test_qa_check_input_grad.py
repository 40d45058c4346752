"""Regression: gd.check fed the user's batch as it was, so an input tensor that requires grad (a leaf:
saliency maps, adversarial examples, physics-informed models that differentiate with respect to their
inputs) had the check's backward accumulated into its ``.grad``: None became a tensor, an existing gradient
grew. The snapshot now records the ``.grad`` of every leaf tensor of the batch that requires grad."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def test_input_grad_left_alone() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    x = torch.randn(8, 4, requires_grad=True)
    y = torch.randint(0, 2, (8,))
    gd.check(model, x, y, F.cross_entropy)
    assert x.grad is None
    z = torch.randn(8, 4, requires_grad=True)
    g = torch.ones(8, 4)
    z.grad = g
    gd.check(model, {"input": z}, y, F.cross_entropy)
    assert z.grad is g and torch.equal(g, torch.ones(8, 4))
