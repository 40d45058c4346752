"""gd.check leaves the model exactly as it was, sees functional activations, and validates its input."""
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.errors import ModelError


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x)))
        return self.fc(self.drop(h.mean(dim=(2, 3))))


def _hook_counts(model):
    return [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()]


def test_check_restores_everything():
    model = Net()
    model.eval()
    model.fc.train()  # a mixed train/eval state must come back as it was
    x, y = torch.randn(8, 3, 6, 6), torch.randint(0, 3, (8,))
    F.cross_entropy(model(x), y).backward()  # existing .grad to preserve
    grads = {n: p.grad for n, p in model.named_parameters()}
    grad_vals = {n: g.clone() for n, g in grads.items()}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    hooks = _hook_counts(model)
    user_hook_calls = []
    model.fc.register_forward_hook(lambda *a: user_hook_calls.append(1))
    hooks_with_user = _hook_counts(model)
    np.random.seed(3)
    random.seed(3)
    rng, np_rng, py_rng = torch.get_rng_state(), np.random.get_state(), random.getstate()

    diag = gd.check(model, x, y, F.cross_entropy)

    assert diag.source == "check" and diag.layers
    for k, v in model.state_dict().items():  # parameters and buffers, num_batches_tracked included
        assert torch.equal(v, state[k]), k
    assert model.bn.num_batches_tracked.item() == 0
    for n, p in model.named_parameters():
        assert p.grad is grads[n] and torch.equal(p.grad, grad_vals[n])
    assert [m.training for m in model.modules()] == modes
    assert _hook_counts(model) == hooks_with_user != hooks
    assert user_hook_calls == [1]  # the user's hook ran during the check and is still registered
    assert torch.equal(torch.get_rng_state(), rng)
    assert np.array_equal(np.random.get_state()[1], np_rng[1]) and random.getstate() == py_rng


def test_check_restores_after_error_in_loss():
    model = Net()
    state = {k: v.clone() for k, v in model.state_dict().items()}

    def bad_loss(out, y):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        gd.check(model, torch.randn(4, 3, 6, 6), torch.zeros(4, dtype=torch.long), bad_loss)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


def test_functional_activations_are_seen():
    class Fn(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(10, 10), nn.Linear(10, 2)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x) * 50))

    diag = gd.check(Fn(), torch.randn(16, 10), torch.randint(0, 2, (16,)), F.cross_entropy)
    row = diag.layers[0]
    assert row["activation"] == "tanh" and row["saturated"] > 0.5
    assert "saturation" in {f.kind for f in diag.problems}


def test_scalar_loss_required_and_batches_validated():
    model = nn.Linear(4, 2)
    with pytest.raises(ModelError, match="scalar"):
        gd.check(model, torch.randn(3, 4), None, lambda out, y: out)
    with pytest.raises(ModelError, match="batches"):
        gd.check(model, torch.randn(3, 4), None, lambda out, y: out.sum(), batches=0)


def test_multiple_batches_and_json():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    diag = gd.check(model, torch.randn(12, 6), torch.randint(0, 2, (12,)), F.cross_entropy, batches=3)
    d = diag.to_dict()
    assert d["meta"]["batches"] == 3 and len(d["meta"]["loss"]) == 3
    import json

    assert json.loads(json.dumps(d)) == d
    assert d["healthy"] is True


def test_threshold_override_reaches_detector():
    model = nn.Sequential(*[m for _ in range(4) for m in (nn.Linear(16, 16), nn.Sigmoid())], nn.Linear(16, 2))
    x, y = torch.randn(32, 16), torch.randint(0, 2, (32,))
    assert gd.check(model, x, y, F.cross_entropy).by_kind("vanishing_gradient")
    strict = gd.check(model, x, y, F.cross_entropy, vanishing_depth={"signal_ratio": 1e-9, "max_signal_gain": 1e-9})
    assert not strict.by_kind("vanishing_gradient")
    with pytest.raises(ValueError, match="no detector has a threshold"):
        gd.check(model, x, y, F.cross_entropy, not_a_threshold=1)


def test_sequence_model_without_rnn_gets_an_input_memory_horizon():
    class CNN1d(nn.Module):  # receptive field of the last output: 5 steps
        def __init__(self):
            super().__init__()
            self.c = nn.Conv1d(2, 8, 5, padding=2)
            self.h = nn.Linear(8, 1)

        def forward(self, x):
            return self.h(torch.relu(self.c(x.transpose(1, 2)))[:, :, -1]).squeeze(-1)

    x = torch.randn(8, 40, 2)
    diag = gd.check(CNN1d(), x, torch.randn(8), F.mse_loss)
    f = [f for f in diag.findings if f.axis == "time"]
    assert f and f[0].severity == "info" and f[0].evidence["sequence_length"] == 40
    assert f[0].evidence["memory_horizon"] == 3  # the last output sees steps T-3..T-1 (padding 2)
