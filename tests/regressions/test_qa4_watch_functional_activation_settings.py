"""Regression: gd.check read functional activations with their default settings whatever the call said:
``F.hardtanh(z, -0.1, 0.1)`` was taken as hardtanh(-1, 1), so a layer with 69 % of its units at a bound read
0 % saturated and mean derivative 1; ``F.leaky_relu(z, 0.2)`` got the derivative of slope 0.01 (common in GAN
discriminators). The call's settings are now used, checked against the pre-activations."""
import math

import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(8, 64), nn.Linear(64, 64), nn.Linear(64, 1)

    def forward(self, x):
        h = F.leaky_relu(self.l1(x), 0.2)
        h = F.hardtanh(self.l2(h), min_val=-0.1, max_val=0.1)
        return self.l3(F.elu(h, alpha=3.0))


def test_functional_activation_settings_are_used():
    torch.manual_seed(0)
    net, x = Net(), torch.randn(64, 8)
    diag = gd.check(net, x, torch.randn(64, 1), F.mse_loss)
    with torch.no_grad():
        z1 = net.l1(x)
        z2 = net.l2(F.leaky_relu(z1, 0.2))
    rows = {r["layer"]: r for r in diag.layers}
    assert math.isclose(rows["l1"]["act_deriv"], float(torch.where(z1 > 0, 1.0, 0.2).mean()), rel_tol=1e-3)
    assert math.isclose(rows["l2"]["saturated"], float(((z2 <= -0.1) | (z2 >= 0.1)).float().mean()), rel_tol=1e-3)
    assert math.isclose(rows["l2"]["act_deriv"], float(((z2 > -0.1) & (z2 < 0.1)).float().mean()), rel_tol=1e-3)
