"""Regression: ``gd.watch(..., update_sample=0)`` crashed with a bare ZeroDivisionError, ``act_sample=0`` stopped
watching at the first forward (a contained ZeroDivisionError) and ``act_sample=-5`` was accepted silently. Both
are now checked when the watch is created (a ValueError naming the setting); numpy integers are accepted."""
import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd


@pytest.mark.parametrize("kw", [{"update_sample": 0}, {"act_sample": 0}, {"act_sample": -5}, {"act_sample": 2.5}])
def test_bad_sample_sizes_are_refused(kw):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    with pytest.raises(ValueError, match=next(iter(kw))):
        gd.watch(model, torch.optim.SGD(model.parameters(), lr=0.1), **kw)


def test_numpy_sample_sizes_are_accepted():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, act_sample=np.int64(16), update_sample=np.int32(8)) as run:
        loss = model(torch.randn(3, 4)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert run.error is None and np.isfinite(run.data.layer_stats["act_mean"][0, 0])
