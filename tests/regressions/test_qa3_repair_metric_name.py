"""Case.metric_name said "accuracy" whenever the targets were integers, but evaluate() reports accuracy only when
the model also outputs class scores (N, C): a model returning a tuple, or a regression on integer targets
(counts), was evaluated by -loss under an "accuracy" header (the table read "accuracy -34.3"), and repair
used the absolute accuracy floor MIN_GAIN instead of the relative loss floor for it. metric_name now looks at
a fresh model's output, as evaluate() does."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.repair import MIN_RELATIVE_LOSS_GAIN


class TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(5, 8)
        self.a, self.b = nn.Linear(8, 3), nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.body(x))
        return self.a(h), self.b(h)


X = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))


def test_tuple_output_with_class_targets_is_minus_loss() -> None:
    y = (X[:, 0] > 0).long()
    case = gd.Case(model_fn=TwoHeads, train=(X, y), loss_fn=lambda out, t: F.cross_entropy(out[0], t), steps=2)
    assert case.metric_name == "-loss"
    _, metric = case.evaluate(TwoHeads())
    assert metric < 0  # what evaluate() reports is -loss, as the name says


def test_integer_regression_targets_use_the_relative_loss_floor() -> None:
    y = (X.sum(1).abs() * 3).long()
    case = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1), nn.Flatten(0)),
                   train=(X, y), loss_fn=lambda o, t: F.mse_loss(o, t.float()), steps=4, batch_size=16)
    assert case.metric_name == "-loss"
    result = gd.repair(case, seeds=1, max_trials=1, remedies=["use_adam"], progress=False)
    assert result.metric_name == "-loss"
    (trial,) = result.trials
    assert trial.margin >= MIN_RELATIVE_LOSS_GAIN * result.baseline.loss


def test_class_scores_are_still_accuracy() -> None:
    y = (X[:, 0] > 0).long()
    case = gd.Case(model_fn=lambda: nn.Linear(5, 2), train=(X, y), steps=2)
    state = torch.random.get_rng_state()
    assert case.metric_name == "accuracy"
    assert torch.equal(torch.random.get_rng_state(), state)  # building the probe model moved no RNG
