"""Regression: a watch started and never stopped (no ``with`` block; a notebook cell run again after an error)
kept its hooks on the model when the model was watched again: both watches recorded every step (twice the
cost) and the old one held its store and buffers forever. Watching the model again now stops the stale watch,
with a warning; a gd.check inside a watched run leaves that run's watch alone."""
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import GradDoctorWarning


def _steps(model, opt, run, n):
    x, y = torch.randn(16, 8), torch.randint(0, 3, (16,))
    for _ in range(n):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.step(loss=loss)


def test_watching_again_stops_the_stale_watch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    old = gd.watch(model, opt).start()
    _steps(model, opt, old, 2)  # ... and the cell fails before old.stop()
    with pytest.warns(GradDoctorWarning, match="still running"):
        new = gd.watch(model, opt).start()
    _steps(model, opt, new, 3)
    new.stop()
    assert old.steps_seen == 2 and new.steps_seen == 3
    assert not model[0]._forward_hooks and not opt._optimizer_step_post_hooks


def test_a_check_inside_a_watched_run_leaves_the_watch_running():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt) as run:
        _steps(model, opt, run, 2)
        gd.check(model, torch.randn(16, 8), torch.randint(0, 3, (16,)), nn.functional.cross_entropy)
        _steps(model, opt, run, 2)
    assert run.steps_seen == 4 and len(run.data.steps) == 4
