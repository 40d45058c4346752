"""Regression: for per-pixel class targets (a segmentation: output (N, C, H, W), targets (N, H, W)), which
Case counts as "accuracy", Case.evaluate divided the number of correct pixels by the number of images: an
untrained 1x1 conv on 8x8 masks scored an "accuracy" of 43.65, and repair's gains, margins and tables were in
those units. Accuracy is now the share of target values that are right (at most 1)."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def test_pixel_accuracy_is_a_share():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(40, 3, 8, 8, generator=g)
    y = (X[:, 0] > 0).long()
    case = gd.Case(model_fn=lambda: nn.Conv2d(3, 2, 1), train=(X, y), loss_fn=F.cross_entropy, steps=2,
                   batch_size=20)
    torch.manual_seed(0)
    model = case.build_model()
    _, acc = case.evaluate(model)
    with torch.no_grad():
        expected = float((model(X).argmax(1) == y).float().mean())
    assert case.metric_name == "accuracy"
    assert abs(acc - expected) < 1e-6 and 0.0 <= acc <= 1.0
