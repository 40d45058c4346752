"""Regression: "learns" (a winner must learn something from its inputs) was judged on the validation loss alone,
below an all-zero output's (ln C). An overconfident model fails that while being right most of the time: a
model whose logits came out of log(0) went NaN, guard_unsafe_op made it train, and at 0.66 accuracy on 3 classes
(the most frequent class: 0.39) with a cross-entropy of 3.0 > ln 3 it was printed "learns nothing" and "the model
still learns nothing from its inputs" (on digits: 0.77 accuracy, "learns nothing"). For accuracy, a trial now
also learns when its accuracy beats the best constant prediction's (RepairResult.chance_metric,
Case.chance_accuracy) by more than its margin; the no-winner sentence names both references."""
import math

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.repair.result import RepairResult
from graddoctor.repair.trials import Trial


class LogZeroScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(8, 3)

    def forward(self, x):
        return self.l(x) * torch.log(torch.zeros(1))  # -inf: NaN logits until the guard clamps log's input


def test_overconfident_but_accurate_remedy_learns():
    g = torch.Generator().manual_seed(0)
    X, W = torch.randn(300, 8, generator=g), torch.randn(8, 3, generator=g)
    y = (X @ W + 1.5 * torch.randn(300, 3, generator=g)).argmax(1)
    case = gd.Case(model_fn=LogZeroScale, train=(X[:200], y[:200]), val=(X[200:], y[200:]),
                   loss_fn=F.cross_entropy, steps=20, batch_size=50)
    assert math.isclose(case.chance_accuracy(), float(torch.bincount(y[200:]).max()) / 100)
    result = gd.repair(case, seeds=1, remedies=["guard_unsafe_op"], progress=False)
    (t,) = result.trials
    assert t.loss > result.constant_loss  # overconfident: its loss alone says "learns nothing"
    assert t.metric - result.chance_metric > t.margin
    assert t.learns is True and result.best is t
    assert result.to_dict()["chance_metric"] == result.chance_metric


def test_no_winner_sentence_names_the_chance_accuracy():
    base = Trial(remedy=None, seeds=[0], metrics=[0.22], losses=[math.nan], speeds=[0.1], findings=[])
    adam = Trial(remedy="use_adam", seeds=[0], metrics=[0.234], losses=[1.41], speeds=[1e-3], findings=[],
                 gain=0.014, margin=0.01, learns=False)
    result = RepairResult(baseline=base, trials=[adam], metric_name="accuracy", constant_loss=math.log(4),
                          chance_metric=0.28)
    reason = result.no_winner_reason()
    assert "(1.39)" in reason and "most frequent class (0.28)" in reason and "learns nothing" in reason
