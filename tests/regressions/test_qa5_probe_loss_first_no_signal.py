"""With ``gd.watch(model, opt, activations=False)`` (parameter statistics only, no signal hooks) a loop that calls
``run.step(loss=loss)`` after backward and before ``optimizer.step()`` (the order of many logging loops) recorded
every loss one step early: step k held step k+1's loss, the last step none, ``loss_every_step`` was false, and a
loss that turned NaN at step k was reported at step k-1. Without signal hooks nothing sees the step's backward, so
the loop's order is now taken from its first call: a loss passed before any optimizer step can only be that step's,
and every loss then lands on its own step; a loop that logs after the step is unchanged."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd


def _train(before: bool, nan_from: int | None = None, **kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    losses = []
    with gd.watch(model, opt, activations=False, **kw) as run:
        for step in range(6):
            xb = x.clone()
            if nan_from is not None and step >= nan_from:
                xb[0, 0] = float("nan")
            loss = nn.functional.cross_entropy(model(xb), y)
            opt.zero_grad()
            loss.backward()
            if before:
                run.step(loss=loss)
            if torch.isfinite(loss):  # the loop's own guard: no update from a NaN batch
                opt.step()
            else:
                opt.zero_grad()
                opt.step()  # (a step with no gradient: keeps the step count; nothing moves)
            if not before:
                run.step(loss=loss)
            losses.append(loss.item())
    return run, np.array(losses)


@pytest.mark.parametrize("before", [True, False])
@pytest.mark.parametrize("kw", [{}, {"every": 2}, {"flush_every": 1}])
def test_each_loss_lands_on_its_step(before: bool, kw: dict) -> None:
    run, losses = _train(before, **kw)
    data = run.data
    np.testing.assert_allclose(data.step_stats["loss"], losses[data.steps], rtol=1e-6)
    assert data.meta["loss_every_step"] is True


def test_nan_loss_reported_at_its_step() -> None:
    run, losses = _train(True, nan_from=3)
    loss = run.data.step_stats["loss"]
    assert np.isfinite(loss[:3]).all() and np.isnan(loss[3:]).all()
    found = [f for f in run.diagnose().findings if f.kind == "non_finite"]
    assert found and found[0].step == 3
