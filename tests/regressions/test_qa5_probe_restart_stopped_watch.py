"""A watch started again after it stopped (``with run:`` around each epoch, or ``run.start()`` after
``run.stop()``) recorded nothing more, silently: only the first epoch was in the run, and nothing said so. Now
starting a stopped watch warns that it records nothing more and what to do instead (one ``with`` block around the
whole training, or a new gd.watch()); training itself is unaffected."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import GradDoctorWarning


def _epoch(model, opt) -> None:
    x, y = torch.randn(8, 4), torch.randn(8, 2)
    for _ in range(2):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def test_with_block_per_epoch_warns() -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = gd.watch(model, opt)
    with run:
        _epoch(model, opt)
    with pytest.warns(GradDoctorWarning, match="cannot be started again"):
        with run:
            _epoch(model, opt)
    assert run.data.steps.tolist() == [0, 1]
    with pytest.warns(GradDoctorWarning, match="new gd.watch"):
        assert run.start() is run


def test_start_twice_while_running_is_silent(recwarn) -> None:
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = gd.watch(model, opt).start()
    run.start()
    _epoch(model, opt)
    run.stop()
    assert not [w for w in recwarn if issubclass(w.category, GradDoctorWarning)]
    assert run.data.steps.tolist() == [0, 1]


def test_distributed_watch_warns_too(group) -> None:
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = gd.watch(model, opt)
    assert type(run).__name__ == "DistributedMonitor"
    with run:
        _epoch(model, opt)
    with pytest.warns(GradDoctorWarning, match="cannot be started again"):
        run.start()
