"""Regression: RunData.at_step(name, step) for a step that was not recorded returned another step's values
without a word (step 15 of an every=10 run gave step 20's, step -1 gave step 0's) and, past the last recorded
step, raised a bare "IndexError: index 20 is out of bounds". It now raises KeyError naming the recorded range."""
import pytest
import torch
from torch import nn

from . import watched_sgd


def test_at_step_rejects_steps_that_were_not_recorded():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    run = watched_sgd(model, torch.randn(16, 4), torch.randint(0, 2, (16,)), steps=40, every=10)
    data = run.data
    assert data.steps.tolist() == [0, 10, 20, 30]
    assert data.at_step("signal_norm", 20).shape == (2,)
    for step in (15, -1, 40, 10**6):
        with pytest.raises(KeyError, match=f"step {step} was not recorded; recorded steps run from 0 to 30"):
            data.at_step("signal_norm", step)
