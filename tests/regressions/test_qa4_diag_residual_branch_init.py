"""Regression: gd.check on a stock GPT-2 (transformers) reported poor_initialization on every block's output
projection, which GPT-2 initialises with std 0.02/sqrt(2 n_layer) on purpose (as Fixup and SkipInit scale
residual branches down). The finding stays info, and in a residual network it now says that a scaled-down
layer ending a residual branch is deliberate; a plain net with a too-small init gets no such excuse."""
import torch
from torch import nn

import graddoctor as gd


class Block(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        nn.init.normal_(self.proj.weight, std=0.02 / 4)  # GPT-2-style scaled residual projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj(torch.relu(self.fc(x)))


def _init_finding(model: nn.Module):
    torch.manual_seed(0)
    x, y = torch.randn(32, 64), torch.randint(0, 4, (32,))
    f = [f for f in gd.check(model, x, y, nn.functional.cross_entropy).findings if f.kind == "poor_initialization"]
    return f[0] if f else None


def test_scaled_residual_branch_is_called_deliberate():
    torch.manual_seed(0)
    f = _init_finding(nn.Sequential(Block(64), Block(64), nn.Linear(64, 4)))
    assert f is not None and f.severity == "info"
    assert any("proj" in name for name in f.layers)
    assert "deliberate" in f.message and f.evidence["residual"] is True


def test_plain_net_with_a_small_init_gets_no_excuse():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    nn.init.normal_(net[2].weight, std=0.002)
    f = _init_finding(net)
    assert f is not None and "deliberate" not in f.message
