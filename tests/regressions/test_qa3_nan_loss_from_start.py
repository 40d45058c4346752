"""A loss that is NaN from the first step is a non-finite loss, with origin ``"<loss>"``.

The store writes a step's loss as NaN both when it was not logged and when it was NaN, and the diagnosis took a
NaN loss for "not logged" until a finite one had been seen. A loss function that returns NaN from step 0 (the
model's outputs finite) got origin None and the gradient layers instead of the documented ``"<loss>"``. The run
now records in its metadata that every step logged a loss (``loss_every_step``).
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import graddoctor as gd


def _bad_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(out, y) * float("nan")


def _train(store, steps: int = 12, log_every: int = 1, flush_every: int = 50):  # noqa: ANN001
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    run = gd.watch(m, opt, store=store, flush_every=flush_every).start()
    for i in range(steps):
        loss = _bad_loss(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.step(loss=loss if i % log_every == 0 else None)
    return run


@pytest.mark.parametrize("flush_every", [5, 50])
def test_nan_loss_from_step_0_has_origin_loss(tmp_path, flush_every):
    path = str(tmp_path / "run.sqlite")
    run = _train(path, flush_every=flush_every)
    mid = run.diagnose()  # before stop: from the buffer (and, with flush_every=5, the store)
    run.stop()
    for diag in (mid, run.diagnose(), gd.diagnose(path)):
        nf = [f for f in diag.findings if f.kind == "non_finite"]
        assert nf and nf[0].origin == "<loss>" and nf[0].step == 0
    assert gd.load_run(path).meta["loss_every_step"] is True


def test_loss_logged_on_some_steps_only_keeps_nan_as_not_logged():
    run = _train(None, log_every=3)
    run.stop()
    assert run.data.meta["loss_every_step"] is False
    nf = [f for f in run.diagnose().findings if f.kind == "non_finite"]
    assert nf and nf[0].origin != "<loss>"  # the NaN losses cannot be told from unlogged ones
