"""Regression: ``gd.watch(..., meta={"lr": np.float32(0.1)})`` (or a torch scalar, a Path) failed at start with
"Object of type float32 is not JSON serializable" when writing to a SQLite store, crashing the training before
its first step; and the half-started watch then counted as running, so watching the model again warned about a
stale watch. Meta values are now made JSON-safe (numbers, lists, strings), and a failed start leaves nothing
running."""
import pathlib
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import GradDoctorWarning


def test_meta_with_numpy_torch_and_path_values(tmp_path):
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    meta = {"lr": np.float32(0.5), "steps": np.int64(3), "w": torch.tensor(2.0, dtype=torch.bfloat16),
            "shape": torch.Size([2, 3]), "dir": pathlib.Path("/data/x"), "cfg": {"layers": (1, 2)},
            "arr": np.arange(3)}
    with gd.watch(model, opt, store=str(tmp_path / "run.sqlite"), meta=meta) as run:
        loss = model(torch.randn(3, 4)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    user = gd.load_run(str(tmp_path / "run.sqlite")).meta["user"]
    assert user == {"lr": 0.5, "steps": 3, "w": 2.0, "shape": [2, 3], "dir": "/data/x", "cfg": {"layers": [1, 2]},
                    "arr": [0, 1, 2]}
    assert run.steps_seen == 1


class _FullDisk:
    """A store whose first write fails."""

    def begin(self, meta, layers):
        raise OSError("disk full")


def test_a_failed_start_leaves_nothing_running():
    model = nn.Sequential(nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(OSError):
        gd.watch(model, opt, store=_FullDisk()).start()
    assert not model[0]._forward_hooks and not opt._optimizer_step_post_hooks
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradDoctorWarning)  # no "earlier gd.watch() still running"
        with gd.watch(model, opt):
            pass
