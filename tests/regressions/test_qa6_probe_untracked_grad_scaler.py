"""``gd.watch(model, opt)`` with a ``torch.amp.GradScaler`` stepping the optimizer and no ``track_scaler``: the backward
signal, captured during backward, was recorded multiplied by the loss scale (65536: signal norms of ~1e3 for a net
whose true signal is ~0.02), and iterations the scaler skips were added to the next step, with no warning. At the
first optimizer step graddoctor now sees the scaler among its callers and says to attach ``track_scaler``; nothing
is said when it is attached, or when the scaler is disabled."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd
from graddoctor.integrations.amp import track_scaler


def _run(track: bool, enabled: bool = True) -> list[str]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu", enabled=enabled)
    x, y = torch.randn(32, 10), torch.randint(0, 3, (32,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gd.watch(model, opt) as run:
            if track:
                track_scaler(run, scaler)
            for _ in range(3):
                opt.zero_grad()
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    loss = F.cross_entropy(model(x), y)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                run.step(loss=loss)
    return [str(w.message) for w in caught if issubclass(w.category, gd.GradDoctorWarning)]


def test_untracked_scaler_is_warned_once() -> None:
    msgs = _run(track=False)
    assert len(msgs) == 1 and "track_scaler(run, scaler)" in msgs[0]


@pytest.mark.parametrize("track, enabled", [(True, True), (False, False)], ids=["tracked", "disabled_scaler"])
def test_no_warning(track: bool, enabled: bool) -> None:
    assert _run(track, enabled) == []
