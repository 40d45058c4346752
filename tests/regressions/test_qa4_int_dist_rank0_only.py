"""``gd.watch`` called on rank 0 only (``if rank == 0:``) must not crash the job.

A flush combines the ranks' statistics in one all-reduce. A rank that does not watch never joins it, so the
watching rank's all-reduce met DDP's gradient all-reduce on the other rank: under torchrun with gloo the job
aborted (SIGABRT, "Received data size doesn't match expected size"), with NCCL it would hang. Now every rank says
in the process group's key-value store (no collective) that it watches; at the first flush a rank waits
``AGREE_TIMEOUT_S`` for the others, then stops watching with a warning naming the missing ranks, and never enters
the collective. Training goes on.

Simulated in one process: a gloo group of one rank whose monitor is told it has two, the second never watching.
"""
from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from torch import nn

import graddoctor as gd
from graddoctor.integrations import distributed as gdd

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not available")


def _model_opt() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    return model, torch.optim.SGD(model.parameters(), lr=0.1)


def _train(run, model, opt, steps: int) -> None:  # noqa: ANN001
    for _ in range(steps):
        loss = model(torch.randn(8, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.step(loss=loss)


def _count_all_reduce(monkeypatch) -> list[str]:  # noqa: ANN001
    calls: list[str] = []
    real = dist.all_reduce
    monkeypatch.setattr(dist, "all_reduce", lambda *a, **k: (calls.append("all_reduce"), real(*a, **k))[1])
    return calls


def test_rank_that_does_not_watch_stops_watching_without_collective(group, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(gdd, "AGREE_TIMEOUT_S", 0.1)
    model, opt = _model_opt()
    run = gdd.DistributedMonitor(model, opt, store=str(tmp_path / "run.sqlite"), flush_every=4)
    run.world_size = 2  # rank 1 exists but never calls gd.watch
    calls = _count_all_reduce(monkeypatch)
    with pytest.warns(gd.GradDoctorWarning, match=r"rank\(s\) \[1\].*every rank"):
        with run:
            _train(run, model, opt, 6)
    assert calls == [], "a flush entered a collective that a rank which does not watch never joins"
    assert run.error is None


def test_every_rank_watching_combines(group, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    model, opt = _model_opt()
    calls = _count_all_reduce(monkeypatch)
    with gdd.DistributedMonitor(model, opt, flush_every=4) as run:  # world of one: nothing to agree on
        _train(run, model, opt, 6)
    model, opt = _model_opt()
    run = gdd.DistributedMonitor(model, opt, flush_every=4)
    run.world_size = 2
    with run:
        run._kv.set(f"{run._agree_key}/1", "1")  # rank 1 watches too
        _train(run, model, opt, 6)
    assert len(calls) == 3 and run._agreed is True  # steps 0, 1-4, 5
    assert len(run.data.steps) == 6
