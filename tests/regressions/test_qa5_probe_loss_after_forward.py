"""``run.step(loss=loss)`` called right after computing the loss, before its backward and ``optimizer.step()`` (a
"log, then train" loop), with the default signal hooks: the first call saw no backward of the step yet and took the
loss for the previous step's, so every loss was recorded one step early (step k held step k+1's loss, the last step
none, ``loss_every_step`` false), and a loss turning NaN at step k was reported at step k-1. A first call made before
any optimizer step, after the step's forward with grad, now marks a loop that logs first, and every loss lands on its
own step. Iterations a GradScaler skips, including the first ones (a common start with a large scale), still record
nothing, in each order of the loop."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.integrations.amp import track_scaler


def _train(order: str, *, amp: bool, **kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8, enabled=amp)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    kept = []
    with gd.watch(model, opt, **kw) as run:
        tracker = track_scaler(run, scaler)
        for i in range(7):
            xb = x.clone()
            if amp and i in (0, 1, 4):  # overflowing iterations: the scaler skips them
                xb[0, 0] = float("inf")
            loss = nn.functional.cross_entropy(model(xb), y)
            if order == "after_forward":
                run.step(loss=loss)
            opt.zero_grad()
            scaler.scale(loss).backward()
            if order == "after_backward":
                run.step(loss=loss)
            skips = len(tracker.skipped)
            scaler.step(opt)
            scaler.update()
            if order == "after_step":
                run.step(loss=loss)
            if len(tracker.skipped) == skips:
                kept.append(loss.item())
    return run, np.array(kept)


@pytest.mark.parametrize("kw", [{}, {"every": 2}, {"flush_every": 1}])
def test_loss_logged_after_the_forward_lands_on_its_step(kw: dict) -> None:
    run, losses = _train("after_forward", amp=False, **kw)
    data = run.data
    np.testing.assert_allclose(data.step_stats["loss"], losses[data.steps], rtol=1e-6)
    assert data.meta["loss_every_step"] is True


@pytest.mark.parametrize("order", ["after_forward", "after_backward", "after_step"])
def test_skipped_first_iterations_record_no_loss(order: str) -> None:
    run, kept = _train(order, amp=True)
    data = run.data
    assert data.n_steps == len(kept) == 4
    np.testing.assert_allclose(data.step_stats["loss"], kept, rtol=1e-6)
    assert run.diagnose().findings == []
