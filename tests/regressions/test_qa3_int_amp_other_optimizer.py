"""track_scaler with one GradScaler shared by two optimizers: only the watched optimizer's skips count.

The tracker treated every ``scaler.step(opt)`` as the watched step: another optimizer's overflow was counted as a
skipped step and, after ``persistent_skips`` in a row, recorded as a (non-finite) step of the watched run that
never happened.
"""
from __future__ import annotations

import torch
from torch import nn

import graddoctor as gd
from graddoctor.integrations.amp import track_scaler


def test_other_optimizers_skips_are_not_watched_steps():
    torch.manual_seed(0)
    a, b = nn.Linear(8, 16), nn.Linear(16, 3)
    model = nn.Sequential(a, nn.Tanh(), b)
    o1, o2 = torch.optim.SGD(a.parameters(), lr=0.01), torch.optim.SGD(b.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    with gd.watch(model, o1) as run:
        amp = track_scaler(run, scaler)
        for i in range(12):
            x, y = torch.randn(8, 8), torch.randint(0, 3, (8,))
            if i in (0, 11):  # the watched optimizer steps twice, both finite
                loss = nn.functional.cross_entropy(model(x), y)
                o1.zero_grad()
                o2.zero_grad()
                scaler.scale(loss).backward()
                scaler.step(o1)
                run.step(loss=loss)
            bad = float("inf") if 1 <= i <= 10 else 1.0  # the other optimizer overflows 10 times in a row
            loss2 = nn.functional.cross_entropy(model(x), y) * bad
            o2.zero_grad()
            scaler.scale(loss2).backward()
            scaler.step(o2)
            scaler.update()
    assert run.data.steps.tolist() == [0, 1]
    assert amp.summary()["skipped_steps"] == 0
    assert amp.summary()["persistent_overflows"] == 0
