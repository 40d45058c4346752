"""Regression: a healthy digits MLP trained by SGD with batches of one sample (lr 0.03, 400 steps, accuracy
rising to 63-74 %) was an `unstable_loss` warning ("the steps overshoot", cause learning_rate_too_high): its
second-half median loss was still 0.6-0.66 x the start (not "settled"), and every sample the model got wrong
cost more than 1.1 x the starting (chance) loss: 7-12 such steps, at robust z 1.2-1.9 of the second half's
own log spread. The detector now reads how many rows the output head processed per step (the size of its
output gradient, `Context.rows_per_step`); at most `per_sample_rows` (2) means a per-sample loss, and a rise
must then stand `min_rise_z` robust standard deviations above the second half's median, as for a settled
loss. A real overshoot at batch one (lr 0.3: losses of 8-11 against a start of 2.5) is still reported."""
import torch
from sklearn.datasets import load_digits
from torch import nn

import graddoctor as gd
from graddoctor.diagnosis import Context

from . import watched_batches


def _batch_one_run(lr: float, seed: int) -> gd.Monitor:
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16.0, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def batch(_: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, 1500, (1,))
        return X[idx], y[idx]
    return watched_batches(model, torch.optim.SGD(model.parameters(), lr=lr), batch, 400)[0]


def test_healthy_batch_of_one_is_not_unstable():
    run = _batch_one_run(0.03, 0)
    assert Context.from_run(run.data).rows_per_step() == 1.0
    assert not run.diagnose().by_kind("unstable_loss")


def test_overshoot_at_batch_one_still_found():
    (f,) = _batch_one_run(0.3, 1).diagnose().by_kind("unstable_loss")
    assert f.evidence["rows_per_step"] == 1.0 and f.evidence["peak_over_start"] > 2
