"""``copy.deepcopy(model)`` (an EMA copy, a best-so-far model) and ``torch.save(model)`` inside a watched run: the
hooks graddoctor put on the modules were partials of the Monitor's bound methods, so copying or pickling the model
copied or pickled the whole Monitor: with a SQLite store ``TypeError: cannot pickle 'sqlite3.Connection' object``
stopped the user's training, ``torch.save`` failed on the schedule's lambda, and with a memory store the copy
recorded into a copy of the run. The copy now gets a hook that does nothing, and the run records exactly what it
records without the copy."""
from __future__ import annotations

import copy
import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


def _train(tmp_path, store: bool, what: str):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.Tanh(), nn.Linear(20, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 10), torch.randint(0, 3, (32,))
    copies = []
    path = tmp_path / f"{what}.sqlite" if store else None
    with gd.watch(model, opt, store=path, detail_every=1) as run:
        for _ in range(4):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
            if what == "deepcopy":
                c = copy.deepcopy(model)
                F.cross_entropy(c(x), y).backward()  # the copy's passes are not the run's
                copies.append(c)
            elif what == "save":
                buf = io.BytesIO()
                torch.save(model, buf)
                buf.seek(0)
                copies.append(torch.load(buf, weights_only=False))
    assert run.error is None
    return run.data, copies


@pytest.mark.parametrize("store", [False, True], ids=["memory", "sqlite"])
@pytest.mark.parametrize("what", ["deepcopy", "save"])
def test_copy_of_watched_model(tmp_path, store: bool, what: str) -> None:
    ref, _ = _train(tmp_path, store, "none")
    data, copies = _train(tmp_path, store, what)
    assert data.n_steps == ref.n_steps == 4
    for k, v in ref.layer_stats.items():
        np.testing.assert_array_equal(data.layer_stats[k], v, err_msg=k)
    np.testing.assert_array_equal(data.step_stats["loss"], ref.step_stats["loss"])
    out = copies[-1](torch.randn(5, 10))  # the copy works on its own, after the run ended
    assert out.shape == (5, 3)
    assert not any(isinstance(getattr(h, "__self__", None), gd.Monitor) for m in copies[-1].modules()
                   for h in m._forward_hooks.values())


def test_copy_of_model_watched_by_the_transformers_callback(tmp_path) -> None:
    pytest.importorskip("transformers")
    from graddoctor.integrations.transformers import GradDoctorCallback

    model = nn.Sequential(nn.Linear(4, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    cb = GradDoctorCallback(store=str(tmp_path / "hf.sqlite"), diagnose=False)
    cb.on_train_begin(SimpleNamespace(max_grad_norm=0), SimpleNamespace(global_step=0, is_world_process_zero=True),
                      None, model=model, optimizer=opt)
    try:
        c = copy.deepcopy(model)
        buf = io.BytesIO()
        torch.save(model, buf)
        assert c(torch.randn(2, 4)).shape == (2, 3)
    finally:
        cb.run.stop()
