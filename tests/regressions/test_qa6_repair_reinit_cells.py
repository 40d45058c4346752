"""Regression: he_init, xavier_init and orthogonal_init re-initialise "recurrent layers: Xavier input,
orthogonal recurrent weights", but only ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (nn.RNNBase): a model built on
``nn.RNNCell``/``nn.LSTMCell``/``nn.GRUCell`` (no RNNBase) kept the cell's weights as they were and only its
Linear read-out was redrawn, and a model of cells alone was "not applicable: no Linear, Conv or RNN layer"."""
import pytest
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.forget_gate import FORGET_BIAS


class CellNet(nn.Module):
    def __init__(self, cell: type[nn.Module]) -> None:
        super().__init__()
        self.cell = cell(4, 8)

    def forward(self, x):
        h = None
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return h[0] if isinstance(h, tuple) else h


@pytest.mark.parametrize("code", ["he_init", "xavier_init", "orthogonal_init"])
@pytest.mark.parametrize("cell", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cells_are_reinitialised(code: str, cell: type[nn.Module]) -> None:
    model = CellNet(cell)
    new = get_remedy(code)(model, RepairContext(sample=(torch.randn(2, 3, 4), None)))
    w_hh = new.cell.weight_hh.detach()
    h = new.cell.hidden_size
    for k in range(0, w_hh.shape[0], h):  # each gate's recurrent block is orthogonal
        block = w_hh[k:k + h]
        torch.testing.assert_close(block @ block.T, torch.eye(h), atol=1e-5, rtol=0)
    bias = new.cell.bias_ih.detach() + new.cell.bias_hh.detach()
    if cell is nn.LSTMCell:
        assert torch.equal(bias[h:2 * h], torch.full((h,), FORGET_BIAS))
        bias = torch.cat([bias[:h], bias[2 * h:]])
    assert torch.equal(bias, torch.zeros_like(bias))
