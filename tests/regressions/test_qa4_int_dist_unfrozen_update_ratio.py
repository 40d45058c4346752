"""Regression: under torch.distributed, a layer frozen when watch() started and unfrozen later (gradual
unfreezing) never got an update ratio: the distributed parameter table chose its update sample once, among the
weights that required grad at the start (the single-process Monitor was fixed for the same bug). It now follows
unfreezing at the next detail cycle, and the ratio equals ||W_t - W_{t-1}|| / ||W_t|| computed by hand.

One process, a gloo group of one rank."""
from __future__ import annotations

import math

import pytest
import torch
import torch.distributed as dist
from torch import nn

from graddoctor.integrations import distributed as gdd

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not available")


def test_a_layer_unfrozen_mid_run_gets_its_update_ratio(group) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    for p in model[0].parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD(model[2].parameters(), lr=0.1)
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    weights = {}
    run = gdd.DistributedMonitor(model, opt, store=None, detail_every=2, update_sample=None)
    with run:
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
    ratio = run.data.layer_stats["update_ratio"][0]
    for step in (4, 6):  # detail steps after the unfreezing
        want = float((weights[step] - weights[step - 1]).norm() / weights[step].norm())
        assert math.isclose(ratio[step], want, rel_tol=1e-4), (step, ratio[step], want)
    assert math.isnan(ratio[2])  # frozen then: no gradient, no update
