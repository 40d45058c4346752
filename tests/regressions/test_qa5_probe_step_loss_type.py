"""``run.step(loss=outputs)`` with a model's output dict (an HF ``ModelOutput``, ``{"loss": ...}``) or a tuple
instead of the loss itself failed inside graddoctor: watching stopped for the rest of the run with "an error inside
graddoctor's step(loss=...) was contained", blaming graddoctor for the caller's mistake, and only the steps before
were recorded (a string was even accepted and parsed). Like a non-scalar tensor, any loss that is not a one-element
tensor or a real number is now a ModelError that names what was passed and what to pass, with or without an
optimizer and through ``run.log_loss``; numbers, numpy scalars and one-element tensors are recorded as before."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd


def _step(model, opt) -> torch.Tensor:
    loss = model(torch.randn(3, 4)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


@pytest.mark.parametrize("with_optimizer", [True, False])
@pytest.mark.parametrize("bad, match", [({"loss": torch.tensor(1.0)}, "dict .*outputs.loss"),
                                        ((torch.tensor(1.0),), "got tuple"), ("0.5", "got str")])
def test_not_a_loss_is_a_clear_error(with_optimizer: bool, bad, match: str) -> None:
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt if with_optimizer else None) as run:
        _step(model, opt)
        with pytest.raises(gd.ModelError, match=match):
            run.step(loss=bad)
        with pytest.raises(gd.ModelError, match="log_loss expects"):
            run.log_loss(bad)
        run.step(loss=_step(model, opt))  # watching goes on
    assert run.error is None
    assert run.data.n_steps == (2 if with_optimizer else 1)


def test_numbers_are_recorded() -> None:
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = [0.5, np.float32(0.25), np.array([0.125]), torch.tensor([2.0]), 3]
    with gd.watch(model, opt) as run:
        for loss in losses:
            _step(model, opt)
            run.step(loss=loss)
    assert run.data.step_stats["loss"].tolist() == [0.5, 0.25, 0.125, 2.0, 3.0]
