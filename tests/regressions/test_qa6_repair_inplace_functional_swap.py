"""Regression (found by the QA6 passes): use_relu_family's functional swap replaced only out-of-place calls
(``torch.sigmoid(h)``): a forward written with in-place activations (``h.sigmoid_()``, ``torch.tanh_(h)``,
``F.relu(h, inplace=True)`` read back from ``h``) was left saturating, and the repair audit did not count those
calls. In-place calls are now counted and swapped, the replacement written into the tensor they modify."""
from __future__ import annotations

import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.audit import _hidden_saturating_calls
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.activation import FunctionalSwap

X = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))


class InPlaceNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.l1(x)
        h.sigmoid_()           # the value is read back from h
        g = self.l2(h)
        torch.tanh_(g)
        return self.l3(g)


def test_in_place_saturating_calls_are_counted_and_swapped() -> None:
    torch.manual_seed(0)
    net = InPlaceNet()
    assert _hidden_saturating_calls(net, X) == 2
    new = get_remedy("use_relu_family")(net, RepairContext(sample=(X, None)))
    assert isinstance(new, FunctionalSwap)
    inner = new.inner
    expected = inner.l3(torch.relu(inner.l2(torch.relu(inner.l1(X)))))
    out = new(X)
    torch.testing.assert_close(out, expected)
    out.sum().backward()  # the swapped graph trains: the in-place write does not break autograd
    assert inner.l1.weight.grad is not None and torch.isfinite(inner.l1.weight.grad).all()
