"""Regression: a 3-layer digits MLP at PyTorch's default init under SGD at lr 1e-4 (loss 2.30 -> 2.30 in 200
steps) was `stalled_learning` with causes init_scale_too_small and depth_without_normalization and remedies
He init, BatchNorm and residual connections: every layer moved less than 1e-5 of its norm per step, which sent
it to the tier for He's "completely stalled" net. But its relative gradients were healthy (~3e-2; He's net:
~5e-6): the steps were small because the learning rate was. Updates below 1e-5 with relative gradients of at
least `tiny_gradient` (1e-4) now go to the learning-rate-too-low tier (cause learning_rate_too_low, remedies
raise_learning_rate, use_adam)."""
import torch
from sklearn.datasets import load_digits
from torch import nn

from . import watched_batches


def test_tiny_learning_rate_is_named():
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16.0, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    g = torch.Generator().manual_seed(0)

    def batch(_: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, 1500, (32,), generator=g)
        return X[idx], y[idx]
    run = watched_batches(model, torch.optim.SGD(model.parameters(), lr=1e-4), batch, 100)[0]
    (f,) = run.diagnose().by_kind("stalled_learning")
    assert f.severity == "warning" and f.causes == ["learning_rate_too_low"]
    assert f.remedies == ["raise_learning_rate", "use_adam"] and "learning rate is too low" in f.message
