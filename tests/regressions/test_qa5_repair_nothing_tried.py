"""Regression: a repair that tried no remedy although the baseline had a problem (``max_trials=0``, or
``remedies=[]``) said "no remedy beat the baseline by more than the seed-to-seed spread while fixing the
finding", as if remedies had trained and lost. Now the sentence is "no remedy was tried, so none was compared
with the baseline" (with the stop note naming max_trials when that was the limit)."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def _deep_sigmoid() -> nn.Sequential:
    return nn.Sequential(*[m for _ in range(8) for m in (nn.Linear(8, 8), nn.Sigmoid())], nn.Linear(8, 3))


def _case() -> gd.Case:
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    return gd.Case(model_fn=_deep_sigmoid, train=(X, y), loss_fn=F.cross_entropy, steps=20, batch_size=32)


def test_max_trials_zero_says_nothing_was_tried():
    result = gd.repair(_case(), seeds=1, max_trials=0, progress=False)
    assert result.stopped == "max_trials" and result.candidates and not result.trials
    text = result.describe()
    assert "no remedy was tried" in text and "beat the baseline" not in text, text
    assert "max_trials=0 reached" in text


def test_empty_remedies_says_nothing_was_tried():  # remedies=[]: the baseline alone, trained and diagnosed
    result = gd.repair(_case(), seeds=1, remedies=[], progress=False)
    assert not result.trials and result.stop_note() is None
    assert result.no_winner_reason() == "no remedy was tried, so none was compared with the baseline"
