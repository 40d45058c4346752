"""Regression: stalled_learning copied the depth analysis' ``dominant_factor`` into its evidence without the
``log10_activation``/``log10_weight`` numbers it rests on (a claim without its evidence; the CLI then had to
hide it). The finding now carries the factor together with both numbers, or neither."""
import math

import torch
from torch import nn

import graddoctor as gd


def _stalled_sigmoid_run() -> gd.Diagnosis:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(8):
        lin = nn.Linear(32, 32)
        nn.init.normal_(lin.weight, std=0.05)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=1e-5)
    x, y = torch.randn(64, 32), torch.randint(0, 4, (64,))
    with gd.watch(model, opt) as run:
        for _ in range(40):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run.diagnose()


def test_dominant_factor_comes_with_its_log10_numbers() -> None:
    diag = _stalled_sigmoid_run()
    stalled = diag.by_kind("stalled_learning")
    assert stalled and stalled[0].evidence.get("dominant_factor") == "activation"
    for f in diag.findings:
        ev = f.evidence
        if ev.get("dominant_factor") is None:
            continue
        for key in ("log10_activation", "log10_weight"):
            assert isinstance(ev.get(key), (int, float)) and math.isfinite(ev[key]), (f.kind, key, ev.get(key))
