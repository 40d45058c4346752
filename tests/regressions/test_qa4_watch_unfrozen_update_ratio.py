"""Regression: a layer frozen when watch() started (a fine-tuned backbone) and unfrozen later (gradual unfreezing)
never got an update ratio, weight norm or gradient ratio for the rest of the run: the update sample was chosen
once, among the weights that required grad at the start. It now follows unfreezing at the next detail cycle,
and its ratio equals ||W_t - W_{t-1}|| / ||W_t|| computed by hand."""
import math

import torch
from torch import nn

import graddoctor as gd


def test_a_layer_unfrozen_mid_run_gets_its_update_ratio():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    for p in model[0].parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD(model[2].parameters(), lr=0.1)
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    weights = {}
    with gd.watch(model, opt, detail_every=2, update_sample=None) as run:
        for step in range(8):
            if step == 3:
                for p in model[0].parameters():
                    p.requires_grad_(True)
                opt.add_param_group({"params": list(model[0].parameters()), "lr": 0.05})
            weights[step - 1] = model[0].weight.detach().clone()
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
        weights[7] = model[0].weight.detach().clone()
    data = run.data
    ratio = data.layer_stats["update_ratio"][0]
    grad_ratio = data.layer_stats["grad_ratio"][0]
    for step in (4, 6):  # detail steps after the unfreezing
        want = float((weights[step] - weights[step - 1]).norm() / weights[step].norm())
        assert math.isclose(ratio[step], want, rel_tol=1e-4), (step, ratio[step], want)
        assert math.isfinite(grad_ratio[step]) and grad_ratio[step] > 0
    assert math.isnan(ratio[2])  # frozen then: no gradient, no update
