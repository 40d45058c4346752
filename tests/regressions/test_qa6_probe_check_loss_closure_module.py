"""``gd.check`` restores a loss that is a module, but a loss given as a method or a closure of one (``loss_fn=
crf.neg_log_likelihood``, ``lambda out, y: criterion(out, y)``, ``functools.partial(head, margin=0.2)``) was not seen:
the pass added into that module's ``.grad`` in place and moved its BatchNorm statistics, and the check left them so.
The modules such a loss runs are now restored with the model."""
from __future__ import annotations

import functools

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class _Head(nn.Module):
    """A loss module with a parameter and a buffer the pass changes."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(3)
        self.t = nn.Parameter(torch.tensor(1.5))

    def forward(self, out: torch.Tensor, y: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
        return F.cross_entropy(self.norm(out) * self.t - margin, y)

    def nll(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self(out, y)


@pytest.mark.parametrize("how", ["method", "closure", "partial"])
def test_loss_closure_module_restored(how: str) -> None:
    torch.manual_seed(0)
    model, head = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3)), _Head()
    x, y = torch.randn(16, 10), torch.randint(0, 3, (16,))
    head(model(x), y).backward()  # a gradient already there, as between two training steps
    loss_fn = {"method": head.nll, "closure": lambda out, t: head(out, t),
               "partial": functools.partial(head, margin=0.2)}[how]
    grad, saved = head.t.grad, head.t.grad.clone()
    stats = {k: v.clone() for k, v in head.state_dict().items()}
    gd.check(model, x, y, loss_fn)
    assert head.t.grad is grad and torch.equal(head.t.grad, saved)
    for k, v in head.state_dict().items():
        assert torch.equal(v, stats[k]), k
