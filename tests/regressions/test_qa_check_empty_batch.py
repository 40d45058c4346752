"""Regression: gd.check on an empty batch (0 rows, e.g. a filtered batch or an exhausted split) reported a
critical ``non_finite`` finding with origin ``<loss>``: the mean loss over no samples is NaN, which described
the batch, not the model. An empty batch is now a ModelError that says so."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.errors import ModelError


def test_empty_batch_is_an_error() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    with pytest.raises(ModelError, match="empty"):
        gd.check(model, torch.randn(0, 4), torch.randint(0, 3, (0,)), F.cross_entropy)
    with pytest.raises(ModelError, match="empty"):
        gd.check(model, (torch.randn(0, 4),), torch.randint(0, 3, (0,)), F.cross_entropy)
    d = gd.check(model, torch.randn(2, 4), torch.randint(0, 3, (2,)), F.cross_entropy)  # small is fine
    assert not [f for f in d.findings if f.kind == "non_finite"]
