"""Regression: steps kept in memory after a failed store write (disk full) were invisible through run.data
and run.diagnose() until a flush succeeded, so a run that filled the disk looked shorter than it was."""
import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from hardening.test_faults import FullDisk


def test_run_data_holds_steps_the_store_could_not_take(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = FullDisk(monkeypatch)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.warns(gd.GradDoctorWarning, match="disk is full"):
        with gd.watch(model, opt, store=tmp_path / "r.sqlite", flush_every=2) as run:
            for i in range(8):
                disk.on = i >= 3
                opt.zero_grad()
                model(torch.randn(8, 4)).pow(2).mean().backward()
                opt.step()
    assert gd.load_run(tmp_path / "r.sqlite").n_steps < 8
    assert run.data.steps.tolist() == list(range(8))
    assert np.isfinite(run.data.stat("weight_grad_norm")).all()
