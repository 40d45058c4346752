"""Regression: gd.check restored buffers through the tensor objects ``model.buffers()`` returned before the
pass, so a forward that *rebinds* a buffer (``self.ema = 0.9 * self.ema + 0.1 * x.mean(0)``, a common way to
keep a running statistic) left the module holding the new tensor: the check changed the model's state_dict
and a later training run differed from one without the check. The snapshot now records each buffer by
module and name and puts the original tensor back."""
import copy

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


class Ema(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.register_buffer("ema", torch.zeros(4))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.ema = 0.9 * self.ema + 0.1 * x.mean(0).detach()  # rebinds the buffer
        self.steps += 1  # in place
        return self.fc(x)


def test_rebound_buffer_restored() -> None:
    model = Ema()
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    before = copy.deepcopy(model.state_dict())
    ema = model.ema
    gd.check(model, x, y, F.cross_entropy)
    assert model.ema is ema
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
