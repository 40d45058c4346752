"""Regression: add_residual found blocks only as Linear/Conv layers listed directly in a Sequential, so the
common ``nn.Sequential(*[nn.Sequential(nn.Linear(16, 16), nn.Tanh()) for _ in range(n)])`` (a Sequential of
blocks) got "not applicable: found no run of 2+ same-shaped blocks". A Sequential of plain layers that keeps the
shape on the training batch is now a block of its own (and is not wrapped twice)."""
import pytest
import torch
from torch import nn

from graddoctor.repair import NotApplicable, get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.residual import Residual


def _block() -> nn.Sequential:
    return nn.Sequential(nn.Linear(16, 16), nn.Tanh())


def test_sequential_of_blocks_gets_shortcuts() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Sequential(*[_block() for _ in range(4)]), nn.Linear(16, 3))
    x = torch.randn(8, 8)
    new = get_remedy("add_residual")(net, RepairContext(sample=(x, None)))
    shortcuts = [m for m in new.modules() if isinstance(m, Residual)]
    assert len(shortcuts) == 4, new
    assert not any(isinstance(m, Residual) for s in shortcuts for m in s.block.modules())  # none nested
    assert new(x).shape == (8, 3)


def test_transformer_layers_are_not_wrapped() -> None:
    """A transformer layer holds its own shortcuts: it is no plain block to wrap again."""
    def layer() -> nn.Module:
        return nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)

    net = nn.Sequential(nn.Linear(8, 16), layer(), layer(), nn.Linear(16, 3))
    x = torch.randn(4, 5, 8)
    with pytest.raises(NotApplicable):
        get_remedy("add_residual")(net, RepairContext(sample=(x, None)))
