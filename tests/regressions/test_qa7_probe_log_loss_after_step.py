"""Regression: with an optimizer passed to watch(), ``run.log_loss(loss)`` called after ``optimizer.step()`` (where
most loops log) recorded each loss one step late: step 0 had none (NaN) and step k held step k-1's loss, so a
divergence was dated a step late and the last loss was lost. ``log_loss`` now places the loss as
``run.step(loss=...)`` does: after the optimizer step, to the step just taken; before it, to the step being taken."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import graddoctor as gd


@pytest.mark.parametrize("where", ["after_step", "after_backward", "after_forward"])
def test_log_loss_lands_on_its_own_step(where: str) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(1)
    losses = []
    with gd.watch(model, opt, flush_every=4) as run:
        for _ in range(9):
            x, y = torch.randn(16, 6, generator=g), torch.randn(16, 1, generator=g)
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            if where == "after_forward":
                run.log_loss(loss)
            loss.backward()
            if where == "after_backward":
                run.log_loss(loss)
            opt.step()
            if where == "after_step":
                run.log_loss(loss)
            losses.append(loss.item())
    recorded = run.data.step_stats["loss"]
    assert recorded.tolist() == torch.tensor(losses, dtype=torch.float32).double().tolist()


def test_without_an_optimizer_log_loss_before_run_step() -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(8, 4)
    losses = []
    with gd.watch(model) as run:
        for _ in range(5):
            opt.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            opt.step()
            run.log_loss(loss)
            run.step()
            losses.append(loss.item())
    assert run.data.step_stats["loss"].tolist() == torch.tensor(losses, dtype=torch.float32).double().tolist()
