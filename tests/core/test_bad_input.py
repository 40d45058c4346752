"""Bad input to watch(): clear errors that name the problem and the fix."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import graddoctor as gd


def test_model_without_parameters() -> None:
    with pytest.raises(gd.ModelError, match="no parameters"):
        gd.watch(nn.Sequential(nn.ReLU(), nn.Sigmoid()))


def test_not_a_module() -> None:
    with pytest.raises(gd.ModelError, match="torch.nn.Module"):
        gd.watch(lambda x: x)  # type: ignore[arg-type]


def test_optimizer_without_the_models_parameters() -> None:
    model, other = nn.Linear(3, 3), nn.Linear(3, 3)
    opt = torch.optim.SGD(other.parameters(), lr=0.1)
    with pytest.raises(gd.ModelError, match="holds none of the model's parameters"):
        gd.watch(model, opt)


def test_optimizer_of_wrong_type() -> None:
    with pytest.raises(gd.ModelError, match="torch.optim.Optimizer"):
        gd.watch(nn.Linear(2, 2), "adam")  # type: ignore[arg-type]


@pytest.mark.parametrize("every", [0, -1, "weekly", True])
def test_bad_schedule(every) -> None:
    with pytest.raises(ValueError):
        gd.watch(nn.Linear(2, 2), every=every)


def test_bad_flush_every() -> None:
    with pytest.raises(ValueError, match="flush_every"):
        gd.watch(nn.Linear(2, 2), flush_every=0)


def test_non_scalar_loss() -> None:
    model = nn.Linear(2, 2)
    with gd.watch(model) as run:
        out = model(torch.randn(3, 2))
        out.sum().backward()
        with pytest.raises(gd.ModelError, match="scalar"):
            run.step(loss=out)
