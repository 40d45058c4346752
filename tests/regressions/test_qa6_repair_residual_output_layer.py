"""Regression: add_residual wrapped every run of shape-keeping blocks, the output layer included: a regression
net whose output has the hidden width (``... Tanh, Linear(16, 16)`` predicting 16 targets) got
``x + a * Linear(x)`` as its output, adding the last hidden activations to every prediction. He et al. keep the
output layer outside the shortcuts; so does the remedy now (the Linear/Conv that runs last)."""
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.residual import Residual


def test_output_layer_stays_outside_the_shortcuts() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                        nn.Linear(16, 16))
    x = torch.randn(8, 16)
    new = get_remedy("add_residual")(net, RepairContext(sample=(x, None)))
    assert isinstance(new[-1], nn.Linear), new  # the output layer, unwrapped
    assert sum(isinstance(m, Residual) for m in new) == 3, new
