"""Regression: ReLU units dead from the first step because their biases were initialised negative (or their
inputs sit far below zero) got the cause `unknown`, with the generic remedies. The dead layers' outputs (the
ReLU's pre-activations) then have a mean close to -1 x their RMS; the cause is now `preactivation_shift`, with
he_init (biases 0) first. Zero-bias nets and units that die during training are unchanged."""
from __future__ import annotations

import torch
from torch import nn

import graddoctor as gd


def _run(bias: float) -> list:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    d = 20
    for _ in range(4):
        lin = nn.Linear(d, 64)
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        nn.init.constant_(lin.bias, bias)
        layers += [lin, nn.ReLU()]
        d = 64
    model = nn.Sequential(*layers, nn.Linear(d, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(1)
    with gd.watch(model, opt) as run:
        for _ in range(30):
            x, y = torch.randn(64, 20, generator=g), torch.randint(0, 3, (64,), generator=g)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            run.log_loss(loss)
    return run.diagnose().findings


def test_negative_bias_is_named() -> None:
    dead = [f for f in _run(-2.0) if f.kind == "dead_units"]
    assert dead and dead[0].causes[0] == "preactivation_shift"
    assert dead[0].remedies[0] == "he_init"
    assert dead[0].evidence["preactivation_mean_over_rms"] <= -0.9


def test_zero_bias_has_no_dead_units() -> None:
    assert not [f for f in _run(0.0) if f.kind == "dead_units"]
