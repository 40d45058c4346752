"""A recipe whose model uses lazy modules (nn.LazyLinear, ...) could not be repaired at all: gd.watch met the
uninitialised parameters of the freshly built model and the baseline raised "Attempted to use an uninitialized
parameter"; model remedies (he_init, ...) failed on them too. Case.build_model now materialises lazy modules with
one no-grad forward on two training samples (the shapes come from the data), and model remedies transform the
model as build_model returns it."""
from __future__ import annotations

import torch
from torch import nn

import graddoctor as gd


def _lazy() -> nn.Sequential:
    return nn.Sequential(nn.LazyLinear(8), nn.Tanh(), nn.LazyLinear(8), nn.Tanh(), nn.LazyLinear(2))


X = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))
CASE = gd.Case(model_fn=_lazy, train=(X, (X[:, 0] > 0).long()), steps=4, batch_size=16)


def test_build_model_materialises_lazy_modules_reproducibly() -> None:
    torch.manual_seed(3)
    a = CASE.build_model()
    torch.manual_seed(3)
    b = CASE.build_model()
    assert not any(nn.parameter.is_lazy(p) for p in a.parameters())
    assert a[0].weight.shape == (8, 5) and a.training
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_repair_runs_on_a_lazy_model() -> None:
    result = gd.repair(CASE, seeds=1, remedies=["he_init", "add_batchnorm"], progress=False)
    assert [t.failed or t.skipped for t in result.trials] == [None, None]
    assert result.baseline.metrics and all(t.metrics for t in result.trials)
