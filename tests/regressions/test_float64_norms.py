"""Regression: a float64 model made every statistic fail ("linalg.vector_norm: the dtype of the input (Double)
should be convertible without narrowing"), so watching stopped at the first forward pass and nothing was
recorded. sum_sq and the monitor's parameter norms now reduce float64 in float64 and cast the result."""
import math
import warnings

import torch
from torch import nn

import graddoctor as gd
from graddoctor.stats.tensor_stats import sum_sq


def test_sum_sq_accepts_float64():
    t = torch.tensor([3.0, 4.0], dtype=torch.float64)
    out = sum_sq(t)
    assert out.dtype == torch.float32
    assert out.item() == 25.0


def test_float64_model_is_recorded():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(8, 4, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", gd.GradDoctorWarning)
        with gd.watch(model, opt) as run:
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            expected = model[0].weight.grad.norm().item()
            opt.step()
    assert run.error is None
    data = run.data
    assert data.n_steps == 1
    got = data.at_step("weight_grad_norm")[data.layer_names.index("0")]
    assert math.isclose(got, expected, rel_tol=1e-5)
