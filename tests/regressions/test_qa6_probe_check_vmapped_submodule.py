"""``gd.check`` on a model that calls a submodule inside ``torch.func.vmap`` (a set encoder mapping an MLP over the
elements of each set): the check's module hooks and op observer kept finiteness flags and activation statistics of
the transform's wrapped tensors, and reading them back after the pass failed inside torch (``maybe_level.has_value()
INTERNAL ASSERT FAILED``), so the check raised. Passes inside a transform are now left out of those observations, as
``watch()`` leaves them out."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import vmap
from torch.nn import functional as F

import graddoctor as gd


class _SetNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(10, 16), nn.Tanh())
        self.out = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, set size, features)
        h = vmap(self.enc, in_dims=1, out_dims=1)(x)
        return self.out(torch.relu(h.mean(1)))


def test_check_model_with_vmapped_submodule() -> None:
    torch.manual_seed(0)
    model = _SetNet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.randn(32, 5, 10), torch.randint(0, 3, (32,))
    diag = gd.check(model, x, y, F.cross_entropy)
    assert all(math.isfinite(v) for v in diag.meta["loss"])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
