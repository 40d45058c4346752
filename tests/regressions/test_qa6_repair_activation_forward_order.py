"""Regression: use_relu_family chose the output activation and the layers to re-initialise by registration
order (the order of ``__init__``), which is forward order only for an nn.Sequential.

* An output ``nn.Sigmoid`` defined first in ``__init__`` was swapped for a ReLU (the model's probabilities became
  unbounded scores: BCELoss rejects them), because the "output activation" was the last one registered.
* A hidden ``self.act = nn.Sigmoid()`` defined last in ``__init__`` was taken for the output activation and
  kept: nothing was swapped and the remedy said the model had no hidden sigmoid/tanh activation.
* A model with hidden activation modules *and* functional calls (``torch.sigmoid(h)`` in ``forward``) had the
  modules swapped and the functional calls silently kept.

The forward order is now taken from one pass on the training batch (registration order without a batch)."""
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.activation import FunctionalSwap

X = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
CTX = RepairContext(sample=(X, None))


class OutputActFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.out_act = nn.Sigmoid()
        self.l1, self.a1, self.l2 = nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 1)

    def forward(self, x):
        return self.out_act(self.l2(self.a1(self.l1(x))))


class HiddenActLast(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2, self.out = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2)
        self.act = nn.Sigmoid()

    def forward(self, x):
        return self.out(self.act(self.l2(self.act(self.l1(x)))))


class ModuleAndFunctional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.a1, self.l2, self.l3 = nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Linear(8, 2)

    def forward(self, x):
        return self.l3(torch.sigmoid(self.l2(self.a1(self.l1(x)))))


def test_output_activation_defined_first_is_kept() -> None:
    new = get_remedy("use_relu_family")(OutputActFirst(), CTX)
    assert isinstance(new.out_act, nn.Sigmoid) and isinstance(new.a1, nn.ReLU), new
    out = new(X)
    assert bool(((out >= 0) & (out <= 1)).all())


def test_hidden_activation_defined_last_is_swapped_and_its_layers_reinitialised() -> None:
    model = HiddenActLast()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    new = get_remedy("use_relu_family")(model, CTX)
    assert isinstance(new.act, nn.ReLU), new
    changed = {n for n, p in new.named_parameters() if not torch.equal(p, before[n])}
    assert {"l1.weight", "l2.weight"} <= changed and "out.weight" not in changed  # He init on the feeding layers


def test_functional_calls_beside_modules_are_swapped() -> None:
    new = get_remedy("use_relu_family")(ModuleAndFunctional(), CTX)
    assert isinstance(new, FunctionalSwap) and isinstance(new.inner.a1, nn.ReLU), new
    h = torch.relu(new.inner.l2(torch.relu(new.inner.l1(X))))
    torch.testing.assert_close(new(X), new.inner.l3(h))


class SharedSigmoidAutoencoder(nn.Module):
    """One ``self.act = nn.Sigmoid()`` (defined first) for the hidden layers and the output."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.Sigmoid()
        self.l1, self.l2, self.l3 = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 4)

    def forward(self, x):
        return self.act(self.l3(self.act(self.l2(self.act(self.l1(x))))))


def test_shared_activation_keeps_its_output_use() -> None:
    new = get_remedy("use_relu_family")(SharedSigmoidAutoencoder(), CTX)
    assert isinstance(new, FunctionalSwap), new  # the module is the output's too: its hidden calls are redirected
    inner = new.inner
    h = torch.relu(inner.l2(torch.relu(inner.l1(X))))
    torch.testing.assert_close(new(X), torch.sigmoid(inner.l3(h)))
