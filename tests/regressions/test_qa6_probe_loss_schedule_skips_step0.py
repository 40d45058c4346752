"""A schedule that does not record step 0 (``every=lambda s: s >= 5``, ``every=lambda s: s % 4 == 1``) with a loop
that passes ``run.step(loss=loss)`` before ``optimizer.step()`` (right after the forward, or after backward): step 0
ran no hook, so nothing told the first call that the loop logs first; it was taken for a loss of the previous step,
and every recorded step held the *next* step's loss (the last one none, ``loss_every_step`` false). A first call on
an unrecorded step 0 now marks a loop that logs first, as it does without signal hooks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd


def _train(order: str, every, steps: int = 12):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(48, 8), torch.randint(0, 3, (48,))
    losses = []
    with gd.watch(model, opt, every=every, flush_every=4) as run:
        for i in range(steps):
            xb, yb = x[4 * i:4 * i + 4], y[4 * i:4 * i + 4]
            loss = nn.functional.cross_entropy(model(xb), yb)
            if order == "after_forward":
                run.step(loss=loss)
            opt.zero_grad()
            loss.backward()
            if order == "after_backward":
                run.step(loss=loss)
            opt.step()
            if order == "after_step":
                run.step(loss=loss)
            losses.append(loss.item())
    return run.data, np.array(losses)


@pytest.mark.parametrize("order", ["after_forward", "after_backward", "after_step"])
@pytest.mark.parametrize("every", [lambda s: s >= 5, lambda s: s % 4 == 1], ids=["from5", "mod4eq1"])
def test_losses_land_on_their_steps(order: str, every) -> None:
    data, losses = _train(order, every)
    assert data.steps.tolist() == [s for s in range(12) if every(s)]
    np.testing.assert_allclose(data.step_stats["loss"], losses[data.steps], rtol=1e-6)
    assert data.meta["loss_every_step"] is True
