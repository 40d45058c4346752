"""Regression: ClipGradNorm/ClipGradValue accepted any explicit threshold. ``ClipGradNorm(threshold=-1.0)``
multiplied every gradient by a negative factor (torch scales by limit / norm), so the "clipped" run climbed the
loss; 0 zeroed every gradient, and NaN left them NaN. A threshold that is not a positive number is now refused
with a ValueError naming it."""
import math

import pytest
import torch
from torch import nn

from graddoctor.repair.remedies import ClipGradNorm, ClipGradValue


@pytest.mark.parametrize("cls", [ClipGradNorm, ClipGradValue])
@pytest.mark.parametrize("bad", [-1.0, 0, math.nan, math.inf, "1"])
def test_bad_threshold_is_refused(cls, bad):
    with pytest.raises(ValueError, match="threshold must be a positive number"):
        cls(threshold=bad)


def test_positive_threshold_clips():
    layer = nn.Linear(3, 1)
    for p in layer.parameters():
        p.grad = torch.full_like(p, 10.0)
    ClipGradNorm._clip(list(layer.parameters()), float(ClipGradNorm(threshold=1.0).threshold))
    total = torch.sqrt(sum((p.grad ** 2).sum() for p in layer.parameters()))
    assert abs(float(total) - 1.0) < 1e-4
