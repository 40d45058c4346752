"""``gd.check`` restores the global RNG states, but not a ``torch.Generator`` that a module keeps for itself (a noise
layer or augmentation drawing with ``generator=self.gen``): the check's pass drew from it, so training after the
check saw other noise than training without it, although the check is meant to leave the model exactly as it was.
Such generators are now restored with the rest."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class _Noisy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(10, 3)
        self.gen = torch.Generator().manual_seed(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(x.shape[0], 3, generator=self.gen) if self.training else 0.0
        return self.lin(x) + 0.1 * noise


def test_module_generator_restored() -> None:
    torch.manual_seed(0)
    model = _Noisy()
    x, y = torch.randn(8, 10), torch.randint(0, 3, (8,))
    state = model.gen.get_state().clone()
    gd.check(model, x, y, F.cross_entropy, batches=2)
    assert torch.equal(model.gen.get_state(), state)
