"""Regression: a tanh MLP trained 100 healthy SGD steps on digits (lr 0.05, PyTorch's default init: the init
audit finds 0.33-0.48 x Xavier), then with the learning rate raised 400x. Its weights grow by two orders of
magnitude and the forward signal grows 117x through the layers; the exploding_depth finding named
`init_scale_too_large` first (remedies Xavier init, LSUV) because the weight factor dominates, against its own
init audit, and the saturation finding named `saturating_activation` alone (remedies: another activation).
Weights that training grew by at least WEIGHTS_GROWN (10x, median over the layers) make the learning rate the
cause, not the initialisation."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

import graddoctor as gd


def test_grown_weights_blame_the_learning_rate_not_the_init():
    torch.manual_seed(0)
    X, y = load_digits(return_X_y=True)
    X = torch.tensor((X - X.mean(0)) / (X.std(0) + 1e-6), dtype=torch.float32)
    y = torch.tensor(y)
    g = torch.Generator().manual_seed(1)
    m = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 128), nn.Tanh(), nn.Linear(128, 10))
    opt = torch.optim.SGD(m.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 if s < 100 else 400.0)
    with gd.watch(m, opt, store=None) as run:
        for _ in range(200):
            idx = torch.randint(0, len(X), (64,), generator=g)
            loss = F.cross_entropy(m(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run.step(loss=loss)
    d = run.diagnose()
    depth = [f for f in d.problems if f.detector == "exploding_depth"]
    assert depth, [f.detector for f in d.problems]
    for f in depth:
        assert all(a["verdict"] == "ok" for a in f.evidence["init_audit"])  # the premise: the init was fine
        assert "init_scale_too_large" not in f.causes and f.causes[0] == "learning_rate_too_high"
        assert f.evidence["weight_growth_since_first_step"] >= 10
    (sat,) = [f for f in d.problems if f.kind == "saturation"]
    assert sat.causes[0] == "learning_rate_too_high" and sat.remedies[0] == "lower_learning_rate"
