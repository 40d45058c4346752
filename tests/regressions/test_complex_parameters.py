"""Regression: a complex parameter made the monitor's norm computation fail ("dtype should be complex for
complex inputs"), so watching stopped at the first step. Norms of complex tensors are now taken in their
own dtype and cast; complex parameters are left out of the real-valued update-ratio sample."""
import warnings

import torch
from torch import nn

import graddoctor as gd


class ComplexLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 2, dtype=torch.complex64))

    def forward(self, x):
        return (x.to(torch.complex64) @ self.w).abs()


def test_complex_parameter_is_recorded():
    model = ComplexLayer()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # also no "casting complex values to real discards" warning
        with gd.watch(model, opt) as run:
            opt.zero_grad()
            model(torch.randn(8, 4)).pow(2).mean().backward()
            expected = torch.linalg.vector_norm(model.w.grad).item()
            opt.step()
    assert run.error is None
    assert abs(run.data.at_step("weight_grad_norm")[0] - expected) <= 1e-5 * expected
