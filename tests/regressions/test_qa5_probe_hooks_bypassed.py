"""A forward that bypasses the hooks watch() registered used to give a run whose output, activation and
backward-signal statistics were all NaN, silently: only the parameter statistics were recorded, and the diagnosis
had no signal to read. The usual cause is torch.compile: dynamo does not guard on module hooks, so a graph traced
before watch() (of the same model, or of another instance of the same model class earlier in the process, e.g. an
unwatched baseline) goes on running without them, while the docs promise "same as eager". Now the first recorded
step that has gradients while no watched layer's forward hook ever ran warns, naming the cause and the remedy
(watch before the first compile, or torch._dynamo.reset()); a normal run does not warn."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import GradDoctorWarning


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def _train(fwd, model: nn.Module, run, steps: int = 3) -> None:
    opt = run.optimizer
    x, y = torch.randn(8, 4), torch.randn(8, 2)
    for _ in range(steps):
        loss = nn.functional.mse_loss(fwd(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def _bypass_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, GradDoctorWarning)
            and "no forward hook" in str(w.message)]


@pytest.mark.slow  # the first torch.compile of a process takes ~4 s
def test_compiled_before_watch_warns() -> None:
    torch._dynamo.reset()
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    compiled = torch.compile(model, backend="eager")
    x = torch.randn(8, 4)
    compiled(x).sum().backward()  # traced now, without graddoctor's hooks
    opt.zero_grad()
    with pytest.warns(GradDoctorWarning, match="torch.compile") as record:
        with gd.watch(model, opt) as run:
            for _ in range(2):
                opt.zero_grad()
                compiled(x).sum().backward()
                opt.step()
    torch._dynamo.reset()
    assert len(_bypass_warnings(record)) == 1  # once, not every step
    assert run.data.layer_stats["signal_norm"].size and (run.data.layer_stats["weight_grad_norm"] > 0).all()


def test_forward_bypassing_hooks_warns_once() -> None:
    model = nn.Linear(4, 2)  # the model is its only layer: model.forward(x) skips its hooks
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with gd.watch(model, opt) as run:
            _train(model.forward, model, run)
    msgs = _bypass_warnings(record)
    assert len(msgs) == 1 and "steps 0, 1 had gradients" in msgs[0] and "NaN" in msgs[0]


def test_watch_started_after_a_forward_does_not_warn() -> None:
    """A watch started between a step's forward and its backward misses that one step's hooks legitimately."""
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 4), torch.randn(8, 2)
    loss = nn.functional.mse_loss(model(x), y)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with gd.watch(model, opt) as run:
            opt.zero_grad()
            loss.backward()
            opt.step()
            _train(model, model, run)
    assert not _bypass_warnings(record)
    assert np.isnan(run.data.stat("signal_norm")[:, 0]).all() and np.isfinite(run.data.stat("signal_norm")[:, 1:]).all()


def test_normal_run_and_parameter_only_run_do_not_warn() -> None:
    for kwargs in ({}, {"activations": False}, {"every": 2}):
        model = _net()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            with gd.watch(model, opt, **kwargs) as run:
                with torch.no_grad():
                    model(torch.randn(2, 4))  # an evaluation forward before training changes nothing
                _train(model, model, run)
        assert not _bypass_warnings(record), kwargs
