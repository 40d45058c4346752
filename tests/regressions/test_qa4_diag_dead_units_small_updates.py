"""Regression: dead_units put every unit death after step 0 down to the learning rate (cause
high_learning_rate_relu, first remedy lower_learning_rate), also on He et al.'s 30-layer Xavier-init ReLU net
trained by SGD at lr 0.01, whose updates move the weights by 1e-8 per step and whose forward signal shrinks
~2^-15 over the depth at init. Now the lr cause needs an update ratio of DEAD_LR_MIN_UPDATE at some step, and a
collapsed forward signal gives init_scale_too_small (He init first)."""
import numpy as np
import torch

import graddoctor as gd
from graddoctor.diagnosis.detectors.dead_units import DEAD_LR_MIN_UPDATE
from graddoctor.lab.experiments.he_init import mlp


def _run(lr: float, steps: int):
    torch.manual_seed(0)
    x = torch.randn(512, 32)
    y = (x[:, :10].argmax(1))
    net = mlp(30, 64, 32, "xavier", 0)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    with gd.watch(net, opt) as run:
        for _ in range(steps):
            i = torch.randint(0, len(x), (64,))
            loss = torch.nn.functional.cross_entropy(net(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run.diagnose()


def test_units_dying_under_tiny_updates_are_not_blamed_on_the_learning_rate():
    dead = [f for f in _run(0.01, 120).findings if f.kind == "dead_units"]
    assert dead, "the 30-layer Xavier ReLU net's last layers die"
    f = dead[0]
    assert f.evidence["peak_update_ratio"] < DEAD_LR_MIN_UPDATE
    assert "high_learning_rate_relu" not in f.causes and f.remedies[0] != "lower_learning_rate", (f.causes,
                                                                                                f.remedies)
    assert "init_scale_too_small" in f.causes and f.remedies[0] == "he_init"
    assert np.isfinite(f.evidence["first_update_ratio"])
