"""watch() on a model with an uninitialized lazy module names the problem and the fix.

It raised PyTorch's own ValueError ("Attempted to use an uninitialized parameter in <method 'numel' ...>") from
deep inside the Monitor's set-up, and with a store path it had already created the store file.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import ModelError


def test_lazy_module_clear_error(tmp_path):
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LazyLinear(2))
    path = tmp_path / "run.sqlite"
    with pytest.raises(ModelError, match=r"2\.weight is an uninitialized parameter .*forward pass first"):
        gd.watch(m, store=str(path))
    assert not path.exists()


def test_lazy_module_after_one_forward_is_watched():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LazyLinear(2))
    x = torch.randn(5, 3)
    m(x)  # materialises the lazy parameters
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    with gd.watch(m, opt) as run:
        m(x).sum().backward()
        opt.step()
    assert run.data.steps.tolist() == [0]
