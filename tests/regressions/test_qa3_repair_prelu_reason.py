"""use_relu_family:prelu on a model without any hidden sigmoid/tanh (e.g. an nn.RNN + Linear head) was skipped
with "the model calls its activations functionally and prelu needs a module", a reason that is false there
and sends the user looking for functional calls; the reason is now the one every other variant gives."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from graddoctor.repair import NotApplicable, get_remedy
from graddoctor.repair.remedies import RepairContext


class RNNNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(3, 8, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][:, -1])


def test_prelu_on_a_model_without_saturating_activations() -> None:
    ctx = RepairContext(sample=(torch.randn(4, 5, 3), None))
    with pytest.raises(NotApplicable, match="has no hidden") as e:
        get_remedy("use_relu_family:prelu")(RNNNet(), ctx)
    assert "functionally" not in str(e.value)


def test_prelu_on_functional_activations_still_names_the_module_need() -> None:
    class Func(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(3, 8), nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(torch.tanh(self.a(x)))

    with pytest.raises(NotApplicable, match="needs a module"):
        get_remedy("use_relu_family:prelu")(Func(), RepairContext(sample=(torch.randn(4, 3), None)))
