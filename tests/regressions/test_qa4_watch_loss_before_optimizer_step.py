"""Regression: ``run.step(loss=loss)`` called before ``optimizer.step()`` (after backward, the order of many
logging loops) wrote each loss into the previous step's row: step 0 got step 1's loss, the last step none, and
the run's loss_every_step was false. A loss passed while the step is still being recorded now goes to it."""
import numpy as np
import torch
from torch import nn

import graddoctor as gd


def _train(before: bool, **kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    losses = []
    with gd.watch(model, opt, **{"flush_every": 3, **kw}) as run:
        for _ in range(7):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            if before:
                run.step(loss=loss)
            opt.step()
            if not before:
                run.step(loss=loss)
            losses.append(loss.item())
    return run.data, np.array(losses)


def test_loss_logged_before_or_after_the_optimizer_step_lands_on_its_step():
    for before in (False, True):
        for kw in ({}, {"every": 2}, {"activations": False, "signal": True}, {"flush_every": 1}):
            data, losses = _train(before, **kw)
            np.testing.assert_allclose(data.step_stats["loss"], losses[data.steps], rtol=1e-6, err_msg=str(kw))
            assert data.meta["loss_every_step"] is True


def test_an_evaluation_forward_before_run_step_does_not_move_the_loss():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    losses = []
    with gd.watch(model, opt) as run:
        for _ in range(4):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            model(x[:4])  # a forward with grad enabled (a metric) between the step and run.step
            run.step(loss=loss)
            losses.append(loss.item())
    np.testing.assert_allclose(run.data.step_stats["loss"], losses, rtol=1e-6)
