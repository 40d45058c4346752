"""Regression: LAYER_STATS/STEP_STATS said grad_nonfinite/nonfinite_grads count non-finite gradient *entries*,
while the monitor counts parameter *tensors* whose gradient holds a NaN/Inf (docs/statistics.md, derived from
the norms at no extra cost). The in-code descriptions now say what is measured, and this test pins it."""
import torch
from torch import nn

import graddoctor as gd


def test_counts_parameter_tensors_not_entries():
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    model[0].weight.register_hook(lambda g: torch.full_like(g, float("nan")))  # 16 NaN entries, 1 tensor
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    with gd.watch(model, opt) as run:
        opt.zero_grad()
        model(torch.randn(3, 4)).sum().backward()
        opt.step()
    data = run.data
    first = data.at_step("grad_nonfinite")[data.layer_names.index("0")]
    assert first == 1  # one tensor (the weight), not 16 entries; the bias gradient is finite
    assert data.step_stats["nonfinite_grads"][0] == 1
    assert "tensors" in gd.LAYER_STATS["grad_nonfinite"] and "tensors" in gd.STEP_STATS["nonfinite_grads"]
