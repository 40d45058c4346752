"""Regression: gd.check on a model with an uninitialized lazy module (nn.LazyLinear) failed deep inside the
snapshot with torch's "Attempted to use an uninitialized parameter in <method 'detach'...>". It is now a
ModelError that names the parameter and says to run one forward pass first; after that the check works and
restores the model."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.errors import ModelError


def test_lazy_module_clear_error() -> None:
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    with pytest.raises(ModelError, match="lazy module"):
        gd.check(model, x, y, F.cross_entropy)
    model(x)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    gd.check(model, x, y, F.cross_entropy)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
