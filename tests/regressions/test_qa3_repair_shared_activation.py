"""One activation object used after every layer of a Sequential (``act = nn.Tanh(); nn.Sequential(lin, act,
lin, act, ...)``) is listed once by ``seq.children()`` and ``named_modules()``: add_batchnorm, dropout and
add_residual rebuilt the Sequential from that list and silently dropped every later use of the activation
(the "repaired" model became nearly linear), and use_relu_family replaced only its first use. Every use is now
kept (and swapped)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext

CTX = RepairContext(sample=(torch.randn(5, 4), None))


def _shared() -> nn.Sequential:
    act = nn.Tanh()
    return nn.Sequential(nn.Linear(4, 8), act, nn.Linear(8, 8), act, nn.Linear(8, 8), act, nn.Linear(8, 2))


def _kinds(model: nn.Module, cls: type[nn.Module]) -> int:
    return sum(isinstance(m, cls) for m in model.modules(remove_duplicate=False))


@pytest.mark.parametrize("code", ["add_batchnorm", "add_layernorm", "dropout", "add_residual"])
def test_structural_remedies_keep_every_use_of_a_shared_activation(code: str) -> None:
    new = get_remedy(code)(_shared(), CTX)
    assert _kinds(new, nn.Tanh) == 3, new
    assert new(torch.randn(5, 4)).shape == (5, 2)


def test_activation_swap_replaces_every_use() -> None:
    new = get_remedy("use_relu_family")(_shared(), CTX)
    assert _kinds(new, nn.Tanh) == 0 and _kinds(new, nn.ReLU) == 3, new
