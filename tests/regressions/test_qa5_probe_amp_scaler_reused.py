"""One GradScaler used across two watched runs (two `with gd.watch(...)` blocks, each with ``track_scaler`` as the
docs show it, no ``detach()``): the first run's tracker stayed wrapped around ``scaler.step`` after its run
stopped, so an iteration the scaler skipped during the second run warned "could not record the AMP skip count:
'NoneType' object has no attribute 'execute'" (a write into the first run's closed store) and was counted as a
skip of the first run too. Now a tracker whose run has stopped passes the call through untouched, each run counts
its own skips only, and ``detach()`` removes only its own wrapper (a later tracker's stays)."""
from __future__ import annotations

import warnings

import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import GradDoctorWarning
from graddoctor.integrations.amp import track_scaler


def amp_iteration(model, opt, scaler, x, y) -> torch.Tensor:
    """One GradScaler training iteration on (x, y); returns the loss."""
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return loss


def _epoch(model, opt, scaler, bad: int) -> None:
    """Four iterations; in iteration ``bad`` an inf input overflows the scaled gradients (the scaler skips it)."""
    g = torch.Generator().manual_seed(bad)
    xs, ys = torch.randn(4, 8, 8, generator=g), torch.randint(0, 3, (4, 8), generator=g)
    xs[bad, 0, 0] = float("inf")
    for x, y in zip(xs, ys):
        amp_iteration(model, opt, scaler, x, y)


def test_two_runs_share_a_scaler(tmp_path) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    trackers, runs = [], []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for epoch, bad in enumerate((2, 1)):
            with gd.watch(model, opt, store=tmp_path / f"epoch{epoch}.sqlite") as run:
                trackers.append(track_scaler(run, scaler))
                _epoch(model, opt, scaler, bad)
            runs.append(run)
    assert not [str(w.message) for w in record if issubclass(w.category, GradDoctorWarning)]
    assert [t.skipped for t in trackers] == [[2], [1]]
    assert [gd.load_run(tmp_path / f"epoch{e}.sqlite").meta["amp"]["skipped_steps"] for e in (0, 1)] == [1, 1]
    assert [r.data.steps.tolist() for r in runs] == [[0, 1, 2], [0, 1, 2]]


def test_detach_keeps_a_later_trackers_wrapper() -> None:
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    first = track_scaler(gd.watch(model, opt), scaler)
    second = track_scaler(gd.watch(model, opt), scaler)
    first.detach()
    assert scaler.step is second.wrapper
    second.detach()
    assert "step" not in scaler.__dict__
