"""use_lstm_or_gru on a model built from nn.RNNCell: the LSTMCell adapter kept its cell state between calls
and reset it only when hx was None. The usual loop starts every sequence from ``h = torch.zeros(...)``, so the
cell state of the previous batch (still attached to its autograd graph) leaked into the next one: training
failed with "Trying to backward through the graph a second time" (the trial was recorded as failed), and
in eval the output for the same input depended on the previous call. The state now carries on only when hx
is the hidden state the cell returned last."""
from __future__ import annotations

import copy

import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext


class CellNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cell = nn.RNNCell(3, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(x.shape[0], 8)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return self.head(h)


X = torch.randn(64, 6, 3, generator=torch.Generator().manual_seed(0))
Y = (X[:, 0, 0] > 0).long()


def test_lstm_cell_trains_with_zero_initial_state() -> None:
    case = gd.Case(model_fn=CellNet, train=(X, Y), steps=6, batch_size=16)
    result = gd.repair(case, seeds=1, remedies=["use_lstm_or_gru"], progress=False)
    (trial,) = result.trials
    assert trial.failed is None and trial.skipped is None, trial.failed or trial.skipped


def test_same_input_same_output_and_copyable() -> None:
    torch.manual_seed(0)
    model = get_remedy("use_lstm_or_gru")(CellNet(), RepairContext(sample=(X[:4], None)))
    first = model(X[:4])
    first.sum().backward()                  # leaves a mid-sequence state with a graph behind
    copy.deepcopy(model)                    # non-leaf scratch tensors are not copied
    with torch.no_grad():
        assert torch.equal(model(X[:4]), model(X[:4]))
        assert torch.allclose(model(X[:4]), first)
