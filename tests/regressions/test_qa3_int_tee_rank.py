"""A TeeStore built on a rank other than 0 must not open the run store's path.

``with_sinks("run.sqlite", ...)`` is naturally written on every rank of a DDP script (like ``gd.watch(store=...)``,
which only rank 0 writes). TeeStore opened the path on every rank: rank 1 then found rank 0's new file and raised
StoreError ("already exists"), or with ``overwrite=True`` deleted it under rank 0, which lost every record.
Here rank 1 is simulated with ``RANK=1`` and no process group (what ``local_rank_zero`` reads before init).
"""
from __future__ import annotations

import torch
from torch import nn

import graddoctor as gd
from graddoctor.integrations.sinks import with_sinks


class _Sink:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self, meta, layers):  # noqa: ANN001
        self.calls.append("start")

    def log(self, step, scalars):  # noqa: ANN001
        self.calls.append("log")

    def finish(self, findings, status):  # noqa: ANN001
        self.calls.append("finish")


def _rank0_run(path: str) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=path) as run:
        for _ in range(3):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)


def test_other_rank_leaves_rank0_store_alone(tmp_path, monkeypatch):
    path = str(tmp_path / "run.sqlite")
    _rank0_run(path)  # rank 0's store exists
    monkeypatch.setenv("RANK", "1")
    for overwrite in (False, True):
        sink = _Sink()
        tee = with_sinks(path, sink, overwrite=overwrite)  # raised StoreError / deleted the file
        assert tee.sinks == []
        assert tee.path is None
    monkeypatch.delenv("RANK")
    assert gd.load_run(path).steps.tolist() == [0, 1, 2]
