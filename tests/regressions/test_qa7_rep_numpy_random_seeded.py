"""Regression: trials seeded torch's RNG only. A model_fn that draws its initial weights with ``np.random`` (code
ported from NumPy, e.g. network2's ``randn(y, x) / sqrt(x)``) or ``random`` built another model for every seed
of every arm, so the baseline and each remedy started from different weights besides the remedy, and running the
same repair twice gave other numbers ("same seeds, same numbers" did not hold). Python's ``random`` and NumPy's
global generator are now seeded with torch's."""
import random

import numpy as np
import torch
from torch import nn

import graddoctor as gd


class NumpyInit(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1, self.l2 = nn.Linear(8, 16), nn.Linear(16, 3)
        with torch.no_grad():
            self.l1.weight.copy_(torch.from_numpy(np.random.randn(16, 8) / np.sqrt(8)))
            self.l2.bias.fill_(random.gauss(0.0, 1.0))

    def forward(self, x):
        return self.l2(torch.tanh(self.l1(x)))


def test_same_seeds_same_numbers_with_numpy_init() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    case = gd.Case(model_fn=NumpyInit, train=(x, y), steps=10, batch_size=16)
    runs = [gd.repair(case, seeds=2, remedies=["lr_warmup"], progress=False) for _ in range(2)]
    assert runs[0].baseline.losses == runs[1].baseline.losses
    assert runs[0].trials[0].losses == runs[1].trials[0].losses
