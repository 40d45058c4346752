"""Regression: the saturation detector's partial-saturation pattern (`low_mean_derivative`) was dated to the
first step of the examined window (the last 10 steps of a run), although the oversized init that causes it acts
from step 0: a sigmoid MLP at N(0, 1) on digits (64x Xavier; its layers pass about a fifth of the maximum
derivative from the start) was reported at step 290 of a 300-step run, at step 50 of the 60-step run below.
The step is now the first of the columns, walking back, where at least half of the layers stay that low."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

from . import watched_batches


def test_low_mean_derivative_from_the_start_is_dated_there():
    torch.manual_seed(0)
    X, y = load_digits(return_X_y=True)
    X = torch.tensor((X - X.mean(0)) / (X.std(0) + 1e-6), dtype=torch.float32)
    y = torch.tensor(y)
    g = torch.Generator().manual_seed(1)
    m = nn.Sequential(nn.Linear(64, 128), nn.Sigmoid(), nn.Linear(128, 128), nn.Sigmoid(), nn.Linear(128, 128),
                      nn.Sigmoid(), nn.Linear(128, 10))
    for mod in m:
        if isinstance(mod, nn.Linear):
            nn.init.normal_(mod.weight, 0, 1.0)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, len(X), (64,), generator=g)
        return X[idx], y[idx]

    run, _ = watched_batches(m, opt, batch, 60, store=None)
    (f,) = [f for f in run.diagnose().problems if f.kind == "saturation"]
    assert f.evidence["pattern"] == "low_mean_derivative" and f.step == 0
