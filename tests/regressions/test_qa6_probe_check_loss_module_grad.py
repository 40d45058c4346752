"""``gd.check`` with a loss that is a module with parameters (a learned temperature, a margin head, a CRF) whose
``.grad`` already holds a gradient (a check between two training steps, or after ``zero_grad(set_to_none=False)``):
each pass of the check started the *model's* parameters from no gradient, but not the loss module's, so its
backward added into the user's ``.grad`` tensor in place and the check left it doubled (the snapshot puts the same
tensor object back). Every parameter the pass touches now starts from no gradient."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class _TemperatureCE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.t = nn.Parameter(torch.tensor(1.5))

    def forward(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out * self.t, y)


@pytest.mark.parametrize("batches", [1, 2])
def test_loss_module_gradient_left_as_it_was(batches: int) -> None:
    torch.manual_seed(0)
    model, loss_fn = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3)), _TemperatureCE()
    x, y = torch.randn(16, 10), torch.randint(0, 3, (16,))
    loss_fn(model(x), y).backward()
    grad = loss_fn.t.grad
    before = grad.clone()
    gd.check(model, x, y, loss_fn, batches=batches)
    assert loss_fn.t.grad is grad
    assert torch.equal(loss_fn.t.grad, before)
    assert torch.equal(loss_fn.t.detach(), torch.tensor(1.5))
