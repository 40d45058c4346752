"""A distributed run that stops with an error must not enter a collective.

An exception on one rank leaves ``with gd.watch(...)`` there, and ``stop(status="failed")`` flushed, which
all-reduces the unflushed rows. The other ranks were elsewhere (in DDP's gradient all-reduce): under torchrun
with gloo the mismatched collective aborted the failing rank (SIGABRT, "Received data size doesn't match
expected size"), so the user's own exception was never printed (with NCCL it would hang). Now a failed stop
drops the rows it cannot combine, warns, and enters no collective.

Simulated in one process: a gloo group of one rank whose monitor is told it has two, with ``all_reduce``
counted.
"""
from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from torch import nn

import graddoctor as gd
from graddoctor.integrations.distributed import watch_distributed

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not available")


def _train(run, model, opt, steps: int) -> None:  # noqa: ANN001
    for _ in range(steps):
        loss = model(torch.randn(8, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.step(loss=loss)


def test_failed_stop_enters_no_collective(group, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = watch_distributed(model, opt, store=str(tmp_path / "run.sqlite"), flush_every=4)
    run.world_size = 2  # as if another rank were there
    calls: list[str] = []
    real = dist.all_reduce
    monkeypatch.setattr(dist, "all_reduce", lambda *a, **k: (calls.append("all_reduce"), real(*a, **k))[1])
    with pytest.raises(RuntimeError, match="user bug"), pytest.warns(gd.GradDoctorWarning, match="not written"):
        with run:
            run._kv.set(f"{run._agree_key}/1", "1")  # the other rank watches too
            _train(run, model, opt, 6)  # steps 0 (flushed early) and 1-4 (flushed at step 5), step 5 unflushed
            n_before = len(calls)
            raise RuntimeError("user bug")
    assert len(calls) == n_before, "a failed stop entered a collective the other ranks are not in"
    data = gd.load_run(str(tmp_path / "run.sqlite"))
    assert data.meta["status"] == "failed"
    assert list(data.steps) == [0, 1, 2, 3, 4]  # what was combined before the error is kept


def test_finished_stop_still_combines(group, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = watch_distributed(model, opt, flush_every=4)
    run.world_size = 2
    calls: list[str] = []
    real = dist.all_reduce
    monkeypatch.setattr(dist, "all_reduce", lambda *a, **k: (calls.append("all_reduce"), real(*a, **k))[1])
    with run:
        run._kv.set(f"{run._agree_key}/1", "1")
        _train(run, model, opt, 6)
        n_before = len(calls)
    assert len(calls) == n_before + 1
