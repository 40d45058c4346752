"""Regression: the repair table's "1st-layer ||dW||/||W||" column (``Trial.first_layer_speed``) read the first
layer in forward order; when that layer is frozen (``requires_grad=False``: a pretrained backbone under a
fine-tuned head, the usual fine-tuning set-up) it has no update, so the column was "-" (NaN) for the baseline
and every remedy, and the winner's line said "first-layer speed - -> -". It is now the first layer that
trains."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.repair.trials import first_layer_speed


def build() -> nn.Module:
    backbone = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
    for p in backbone.parameters():
        p.requires_grad = False
    return nn.Sequential(backbone, nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def test_speed_of_the_first_trained_layer() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    case = gd.Case(model_fn=build, train=(x, y), loss_fn=F.cross_entropy, steps=6, batch_size=16)
    result = gd.repair(case, seeds=1, remedies=["he_init"], progress=False)
    for trial in (result.baseline, result.trials[0]):
        assert math.isfinite(trial.first_layer_speed) and trial.first_layer_speed > 0, (trial.name, trial.speeds)
    # the layer measured is the hidden Linear "1", the first whose weights train
    data = result.baseline.data
    ratios = data.stat("update_ratio")
    hidden = next(i for i, layer in enumerate(data.layers) if layer.name == "1")
    row = [v for v in ratios[hidden] if math.isfinite(v)]
    assert first_layer_speed(data) == pytest.approx(float(np.median(row)))
