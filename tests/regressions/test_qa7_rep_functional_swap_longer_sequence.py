"""Regression: use_relu_family's functional swap numbered the tanh/sigmoid calls of the forward on one training
batch and swapped calls 0..n-1 in every later forward. A recurrent net written by hand calls its activation once
per time step, so on a longer sequence than that batch's (a DataLoader padding each batch to its longest
sequence) the steps after the n-th kept their tanh: one model mixing ReLU and tanh steps. Calls are now also
matched by the line of the forward that makes them: a line whose every call was swapped is swapped at every
step, a line whose calls were all kept (a gate, the output's) is kept."""
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.activation import FunctionalSwap


class HandRNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.i, self.h, self.o = nn.Linear(3, 8), nn.Linear(8, 8), nn.Linear(8, 2)

    def forward(self, x):
        h = x.new_zeros(x.shape[0], 8)
        for t in range(x.shape[1]):
            h = torch.tanh(self.i(x[:, t]) + self.h(h))
        return torch.sigmoid(self.o(h))  # the output activation: kept


def _expected(inner: HandRNN, x: torch.Tensor) -> torch.Tensor:
    h = x.new_zeros(x.shape[0], 8)
    for t in range(x.shape[1]):
        h = torch.relu(inner.i(x[:, t]) + inner.h(h))
    return torch.sigmoid(inner.o(h))


def test_every_time_step_of_a_longer_sequence_is_swapped() -> None:
    torch.manual_seed(0)
    new = get_remedy("use_relu_family")(HandRNN(), RepairContext(sample=(torch.randn(4, 5, 3), None)))
    assert isinstance(new, FunctionalSwap)
    for steps in (3, 5, 9):
        x = torch.randn(4, steps, 3)
        torch.testing.assert_close(new(x), _expected(new.inner, x))
