"""Regression: use_relu_family's functional-call swap counted every torch.sigmoid/torch.tanh of a forward pass,
also those inside other modules' own computation: a GELU written as ``0.5 * x * (1 + torch.tanh(...))`` (GPT-2's
gelu_new, as an nn.Module) had its tanh replaced by a ReLU (no longer a GELU), and the audit counted it as a
hidden saturating activation. Calls made inside a leaf module that is not itself a sigmoid/tanh activation
module are now part of that module, not of the model's forward."""
import copy
import math

import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.activation import FunctionalSwap

X = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))


class NewGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.act, self.l2, self.l3 = nn.Linear(8, 16), NewGELU(), nn.Linear(16, 16), nn.Linear(16, 2)

    def forward(self, x):
        return self.l3(torch.sigmoid(self.l2(self.act(self.l1(x)))))  # one functional hidden sigmoid


def test_gelu_internals_are_kept() -> None:
    new = get_remedy("use_relu_family")(Net(), RepairContext(sample=(X, None)))
    assert isinstance(new, FunctionalSwap)
    inner = new.inner
    expected = inner.l3(torch.relu(inner.l2(NewGELU()(inner.l1(X)))))  # the GELU intact, the sigmoid swapped
    torch.testing.assert_close(new(X), expected)
    torch.testing.assert_close(copy.deepcopy(new)(X), expected)


def test_gelu_alone_is_nothing_to_swap() -> None:
    class OnlyGELU(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1, self.act, self.l2 = nn.Linear(8, 16), NewGELU(), nn.Linear(16, 2)

        def forward(self, x):
            return self.l2(self.act(self.l1(x)))

    from graddoctor.repair.audit import _hidden_saturating_calls

    assert _hidden_saturating_calls(OnlyGELU(), X) == 0
