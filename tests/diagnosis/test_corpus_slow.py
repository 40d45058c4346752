"""Larger versions of the corpus's published configurations (make test-slow)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from cases import adding, digits_minibatch
from cases import models as M

pytestmark = pytest.mark.slow


def _train(model, opt, batch_fn, loss_fn, steps, every=1):
    with gd.watch(model, opt, every=every) as run:
        for step in range(steps):
            x, y = batch_fn(step)
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run.diagnose()


@pytest.mark.parametrize("init", ["xavier", "he"])
def test_he_30_layers_width_256(init):
    """He et al. 2015 Fig. 3 at width 256 on real digits: Xavier stalls (SGD), He does not."""
    torch.manual_seed(0)
    model = M.mlp([64] + [256] * 30 + [10], nn.ReLU, init)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    diag = _train(model, opt, lambda s: digits_minibatch(s, 64), F.cross_entropy, 150, every=5)
    kinds = {f.kind for f in diag.problems}
    if init == "xavier":
        assert {"vanishing_gradient", "stalled_learning"} <= kinds
    else:
        assert not kinds & {"vanishing_gradient", "stalled_learning", "exploding_gradient"}


@pytest.mark.parametrize("cell", ["RNN", "LSTM"])
def test_adding_problem_T100_trained(cell):
    """Adding problem, T=100, 300 Adam steps: the plain RNN's memory horizon stays short, the LSTM is not
    flagged (Hochreiter & Schmidhuber 1997, Task 4)."""
    torch.manual_seed(0)
    model = M.SeqModel(cell, 64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    diag = _train(model, opt, lambda s: adding(64, 100, seed=s), F.mse_loss, 300, every=10)
    time_problems = [f for f in diag.problems if f.axis == "time"]
    if cell == "RNN":
        assert time_problems and "plain_rnn_long_sequence" in time_problems[0].causes
    else:
        assert not time_problems


def test_resnet18_check_is_healthy():
    """A ResNet-18-sized residual+BatchNorm net (batch 32 x 3x64x64) is not flagged."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "bench_check.py"
    spec = importlib.util.spec_from_file_location("bench_check", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    diag = gd.check(mod.ResNet18(), torch.randn(32, 3, 64, 64), torch.randint(0, 10, (32,)), F.cross_entropy)
    assert diag.healthy, [f.to_dict() for f in diag.problems]
    assert diag.meta["residual_adds"] >= 8
