"""Regression: xavier_init and orthogonal_init use "the gain of the activation that follows" each layer, but the
follower was found in ``__init__`` order: a module that defines ``self.act = nn.Tanh()`` before its layers (and
reuses it in ``forward``) had every layer redrawn with the linear gain 1 instead of tanh's 5/3. The follower is
now the activation that runs after the layer in a forward pass on the training batch."""
import math

import pytest
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext

WIDTH = 512


class ActFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = nn.Tanh()
        self.l1, self.l2 = nn.Linear(WIDTH, WIDTH), nn.Linear(WIDTH, WIDTH)
        self.out = nn.Linear(WIDTH, 2)

    def forward(self, x):
        return self.out(self.act(self.l2(self.act(self.l1(x)))))


@pytest.mark.parametrize("code", ["xavier_init", "orthogonal_init"])
def test_hidden_layers_get_the_tanh_gain(code: str) -> None:
    torch.manual_seed(0)
    ctx = RepairContext(sample=(torch.randn(4, WIDTH), None))
    new = get_remedy(code)(ActFirst(), ctx)
    gain = nn.init.calculate_gain("tanh")
    # Xavier normal: std = gain * sqrt(2 / (fan_in + fan_out)); orthogonal square: every singular value = gain
    expected = gain * math.sqrt(2.0 / (2 * WIDTH)) if code == "xavier_init" else gain / math.sqrt(WIDTH)
    for layer in (new.l1, new.l2):
        std = float(layer.weight.detach().std())
        assert abs(std - expected) < 0.05 * expected, (code, std, expected)
