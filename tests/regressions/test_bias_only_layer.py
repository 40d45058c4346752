"""Regression: a layer whose only parameter with a gradient is a bias reported weight_grad_norm 0, which a
vanishing detector could read as a dead gradient; it must be NaN (no weight gradient measured)."""
import numpy as np
import torch
from torch import nn

import graddoctor as gd


def test_bias_only_layer_has_no_weight_gradient() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    model[2].weight.requires_grad_(False)  # the last layer trains its bias only
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    with gd.watch(model, opt) as run:
        model(torch.randn(8, 4)).sum().backward()
        opt.step()
    d = run.data
    assert np.isnan(d.stat("weight_grad_norm")[1, 0])
    assert d.stat("bias_grad_norm")[1, 0] > 0
    assert d.stat("weight_grad_norm")[0, 0] > 0
