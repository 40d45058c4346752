"""Regression: the init audit of a run read the weight norms of the first recorded step, which are taken after
that step's update. At lr 1e6 the first SGD step multiplies the weights ~1e3-fold, and a PyTorch-default init
was reported as `poor_initialization`, "3 layer(s) start with a weight variance outside [0.1, 10] x the
variance-preserving value" (factors 2e7-1e8), with he_init/xavier_init as remedies. The audit now bounds the
norm before the update with that step's recorded update ratio (‖W‖·[1 − ρ, 1 + ρ]) and needs the whole range
beyond a bound; an init that really is 100x too small is still reported at a sane learning rate."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def _diagnose(lr: float, scale: float = 1.0):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    X, Y = torch.randn(200, 20), torch.randint(0, 3, (200,))
    with gd.watch(model, opt) as run:
        for i in range(0, 200, 20):
            loss = F.cross_entropy(model(X[i:i + 20]), Y[i:i + 20])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run.diagnose()


def test_absurd_learning_rate_is_not_a_bad_init():
    diag = _diagnose(1e6)
    assert not diag.by_kind("poor_initialization"), [f.message for f in diag.by_kind("poor_initialization")]
    assert all("init_scale_too_large" not in f.causes for f in diag.findings)
    assert any("learning_rate_too_high" in f.causes for f in diag.problems)
    row = next(r for r in diag.layers if r["layer"] == "0")
    assert row["init_verdict"] == "ok" and row["init_factor_range"][0] < 10 < row["init_factor_range"][1]


def test_tiny_init_still_reported_at_a_sane_learning_rate():
    (f,) = _diagnose(0.01, scale=0.01).by_kind("poor_initialization")
    assert f.causes == ["init_scale_too_small"] and "0" in f.layers
