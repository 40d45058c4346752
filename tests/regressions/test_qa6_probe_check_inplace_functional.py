"""``gd.check`` sees functional activations through a TorchFunctionMode, but only their out-of-place forms: a forward
written with in-place ones (``x.relu_()``, ``torch.relu_`` / ``F.relu_``, ``x.sigmoid_()``, ``F.leaky_relu_``) had no
activation at all, so a net whose every ReLU was dead passed the check as healthy (no finding), and
``F.hardsigmoid`` / ``F.softplus`` were not seen either. They are now the activations they are."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class _Net(nn.Module):
    def __init__(self, act) -> None:
        super().__init__()
        self.act = act
        self.hidden = nn.ModuleList([nn.Linear(32, 32) for _ in range(6)])
        self.out = nn.Linear(32, 3)
        for layer in self.hidden:
            nn.init.constant_(layer.bias, -3.0)  # every ReLU dead from the start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = self.act(layer(x))
        return self.out(x)


@pytest.mark.parametrize("act, kind", [
    (lambda t: t.relu_(), "relu"), (torch.relu_, "relu"), (F.relu_, "relu"),
    (lambda t: F.leaky_relu_(t, 0.0), "leaky_relu"),
], ids=["Tensor.relu_", "torch.relu_", "F.relu_", "F.leaky_relu_"])
def test_in_place_relu_seen_dead(act, kind: str) -> None:
    torch.manual_seed(0)
    x, y = torch.randn(64, 32), torch.randint(0, 3, (64,))
    diag = gd.check(_Net(act), x, y, F.cross_entropy)
    assert diag.meta["functional_activations"]["hidden.0"] == kind
    if kind == "relu":
        assert "dead_units" in [f.kind for f in diag.findings]


@pytest.mark.parametrize("act, kind", [(lambda t: t.sigmoid_(), "sigmoid"), (lambda t: t.tanh_(), "tanh"),
                                       (F.hardsigmoid, "hardsigmoid"), (F.softplus, "softplus")])
def test_other_functional_forms_seen(act, kind: str) -> None:
    torch.manual_seed(0)
    x, y = torch.randn(64, 32), torch.randint(0, 3, (64,))
    diag = gd.check(_Net(act), x, y, F.cross_entropy)
    assert diag.meta["functional_activations"]["hidden.0"] == kind
