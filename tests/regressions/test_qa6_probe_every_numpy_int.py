"""``gd.watch(..., every=np.int64(5))`` (an interval computed with numpy, ``every = np.int64(total // 100)``) raised
"every must be an int, a preset name or a callable" although it is an integer; any integer type is now accepted, and
the error for other types names what was received."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd


@pytest.mark.parametrize("every", [np.int64(3), np.int32(3), 3])
def test_numpy_integer_interval(every) -> None:
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, every=every) as run:
        for _ in range(7):
            opt.zero_grad()
            model(torch.randn(8, 4)).pow(2).mean().backward()
            opt.step()
    assert run.data.steps.tolist() == [0, 3, 6]


@pytest.mark.parametrize("every", [2.5, True, np.int64(0)])
def test_other_types_refused_with_their_type(every) -> None:
    with pytest.raises(ValueError, match="every must be"):
        gd.watch(nn.Linear(2, 2), every=every)
    if isinstance(every, float):
        with pytest.raises(ValueError, match="got float 2.5"):
            gd.watch(nn.Linear(2, 2), every=every)
