"""add_residual on a VGG-style Sequential (conv blocks with MaxPool/Flatten after their activation) wrapped the
block that ends in the pooling or Flatten layer too, so ``x + f(x)`` failed on mismatched shapes and the whole
remedy was skipped as "no longer runs", although the same-shaped conv runs could take shortcuts. A module that
changes the shape now ends its block and stays outside every shortcut."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.residual import Residual


class Halve(nn.Module):
    """A user module that changes the shape without being a known type (found by the probe)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., ::2, ::2]


def _vgg(pool: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), pool,
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(8 * 4 * 4, 10))


@pytest.mark.parametrize(("pool", "with_sample"), [(nn.MaxPool2d(2), True), (nn.MaxPool2d(2), False),
                                                   (Halve(), True)])
def test_shape_changing_modules_stay_outside_shortcuts(pool: nn.Module, with_sample: bool) -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 8)
    model = _vgg(pool)
    ctx = RepairContext(sample=(x, None)) if with_sample else RepairContext()
    new = get_remedy("add_residual")(model, ctx)
    wrapped = [m for m in new.children() if isinstance(m, Residual)]
    assert len(wrapped) == 4
    assert not any(isinstance(m, (nn.MaxPool2d, nn.Flatten, Halve)) for r in wrapped for m in r.modules())
    assert new(x).shape == (4, 10)
