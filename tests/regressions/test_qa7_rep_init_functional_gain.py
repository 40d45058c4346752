"""Regression: xavier_init and orthogonal_init draw each layer "with the gain of the activation that runs after
the layer on a training batch", but only activation modules were seen: a hand-written forward calling
``torch.tanh(self.l1(x))`` had its hidden layers redrawn with the linear gain 1 instead of tanh's 5/3 (the
repair audit ranks xavier_init for exactly such models, after use_relu_family). Functional activation calls
now count as the follower, in their place in the forward pass."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext

WIDTH = 512


class FunctionalTanh(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2 = nn.Linear(WIDTH, WIDTH), nn.Linear(WIDTH, WIDTH)
        self.out = nn.Linear(WIDTH, 2)

    def forward(self, x):
        h = torch.tanh(self.l1(x))
        h = F.tanh(self.l2(h))
        return self.out(h)


class InsideGelu(nn.Module):
    """A GELU module written with tanh: its internal tanh is the module's own computation, not a follower."""

    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))


class GeluNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.act, self.out = nn.Linear(WIDTH, WIDTH), InsideGelu(), nn.Linear(WIDTH, 2)

    def forward(self, x):
        return self.out(self.act(self.l1(x)))


def _expected(code: str, gain: float) -> float:
    # Xavier normal: std = gain * sqrt(2 / (fan_in + fan_out)); orthogonal square: every singular value = gain
    return gain * math.sqrt(2.0 / (2 * WIDTH)) if code == "xavier_init" else gain / math.sqrt(WIDTH)


@pytest.mark.parametrize("code", ["xavier_init", "orthogonal_init"])
def test_functional_tanh_gives_the_tanh_gain(code: str) -> None:
    torch.manual_seed(0)
    new = get_remedy(code)(FunctionalTanh(), RepairContext(sample=(torch.randn(4, WIDTH), None)))
    expected = _expected(code, nn.init.calculate_gain("tanh"))
    for layer in (new.l1, new.l2):
        std = float(layer.weight.detach().std())
        assert abs(std - expected) < 0.05 * expected, (code, std, expected)


def test_a_call_inside_a_leaf_module_is_not_a_follower() -> None:
    torch.manual_seed(0)
    new = get_remedy("xavier_init")(GeluNet(), RepairContext(sample=(torch.randn(4, WIDTH), None)))
    expected = _expected("xavier_init", 1.0)  # an unknown activation module: the linear gain, as before
    std = float(new.l1.weight.detach().std())
    assert abs(std - expected) < 0.05 * expected, (std, expected)
