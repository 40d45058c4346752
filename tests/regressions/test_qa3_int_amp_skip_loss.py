"""A GradScaler-skipped iteration's loss must not overwrite the previous step's recorded loss.

With ``track_scaler``, an iteration whose scaled gradients overflow is dropped (no step recorded). The loop's
``run.step(loss=loss)`` after ``scaler.step`` then wrote that iteration's loss (typically inf/NaN, the cause of the
overflow) into the row of the step recorded before it: the previous step showed a NaN loss it never had.
"""
from __future__ import annotations

import math

import torch
from torch import nn

import graddoctor as gd
from graddoctor.integrations.amp import track_scaler


def test_skipped_iteration_loss_is_not_recorded():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    logged = []
    with gd.watch(model, opt) as run:
        amp = track_scaler(run, scaler)
        for i in range(6):
            x, y = torch.randn(8, 8), torch.randint(0, 3, (8,))
            if i == 3:
                x[0, 0] = float("inf")  # this iteration's loss and gradients are non-finite: the scaler skips it
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            run.step(loss=loss)
            logged.append(loss.item())
    assert amp.summary()["skipped_steps"] == 1
    assert math.isnan(logged[3])
    recorded = run.data.step_stats["loss"].tolist()
    expected = logged[:3] + logged[4:]
    assert run.data.steps.tolist() == [0, 1, 2, 3, 4]
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(recorded, expected)), (recorded, expected)
    amp.detach()
    assert "_log_previous_loss" not in run.__dict__
