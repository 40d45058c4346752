"""Regression: use_relu_family replaced every hidden sigmoid with a ReLU, gates included: the nn.Sigmoid of a
squeeze-and-excitation block (``x * self.se(x)``) became a ReLU (an unbounded channel scale) with its conv
He-initialised, and in a hand-written forward ``torch.tanh(a) * torch.sigmoid(g)`` (a gated unit; an LSTM or GRU
cell written by hand) and ``h * torch.sigmoid(h)`` (SiLU written inline) the sigmoid became a ReLU too. A
sigmoid whose output multiplies another tensor of the forward is a gate: it is kept, with its layer's init;
the hidden activations around it are still swapped."""
import torch
from torch import nn

from graddoctor.repair import NotApplicable, get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.activation import FunctionalSwap

X = torch.randn(8, 1, 6, 6, generator=torch.Generator().manual_seed(0))
V = torch.randn(8, 12, generator=torch.Generator().manual_seed(1))


class SqueezeExcite(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c // 2, 1), nn.ReLU(), nn.Conv2d(c // 2, c, 1),
                               nn.Sigmoid())

    def forward(self, x):
        return x * self.f(x)


class SENet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1, self.a1, self.se = nn.Conv2d(1, 8, 3, padding=1), nn.Tanh(), SqueezeExcite(8)
        self.c2, self.a2, self.out = nn.Conv2d(8, 8, 3, padding=1), nn.Tanh(), nn.Linear(8 * 36, 3)

    def forward(self, x):
        return self.out(self.a2(self.c2(self.se(self.a1(self.c1(x))))).flatten(1))


def test_squeeze_excite_gate_keeps_its_sigmoid() -> None:
    torch.manual_seed(0)
    model = SENet()
    gate_conv = model.se.f[3].weight.detach().clone()
    new = get_remedy("use_relu_family")(model, RepairContext(sample=(X, None)))
    assert isinstance(new.se.f[4], nn.Sigmoid), new.se  # the gate
    assert torch.equal(new.se.f[4 - 1].weight, gate_conv)  # and its conv's init
    assert isinstance(new.a1, nn.ReLU) and isinstance(new.a2, nn.ReLU), new  # the hidden activations


class GatedUnits(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.g, self.l2, self.out = nn.Linear(12, 12), nn.Linear(12, 12), nn.Linear(12, 12), nn.Linear(12, 3)

    def forward(self, x):
        h = torch.tanh(self.a(x)) * torch.sigmoid(self.g(x))  # a gated unit
        h = self.l2(h)
        h = h * torch.sigmoid(h)  # SiLU, written inline
        return self.out(torch.tanh(h))


def test_functional_gates_keep_their_sigmoid() -> None:
    torch.manual_seed(0)
    model = GatedUnits()
    gate_weight = model.g.weight.detach().clone()
    new = get_remedy("use_relu_family")(model, RepairContext(sample=(V, None)))
    assert isinstance(new, FunctionalSwap)
    inner = new.inner
    assert torch.equal(inner.g.weight, gate_weight)
    h = torch.relu(inner.a(V)) * torch.sigmoid(inner.g(V))
    h = inner.l2(h)
    h = h * torch.sigmoid(h)
    torch.testing.assert_close(new(V), inner.out(torch.relu(h)))


class OnlyGates(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.g, self.out = nn.Linear(12, 12), nn.Linear(12, 12), nn.Linear(12, 3)

    def forward(self, x):
        return self.out(self.a(x) * torch.sigmoid(self.g(x)))


def test_a_model_whose_sigmoids_are_gates_is_not_applicable() -> None:
    try:
        get_remedy("use_relu_family")(OnlyGates(), RepairContext(sample=(V, None)))
    except NotApplicable as e:
        assert "gates" in str(e)
    else:
        raise AssertionError("the gate was swapped")
