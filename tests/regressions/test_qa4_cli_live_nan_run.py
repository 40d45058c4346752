"""Regression: ``graddoctor live`` of a run whose loss and gradients were NaN showed "loss -" (read: no loss
logged), blank sparklines and "-" everywhere, with nothing saying why. The header now says "loss NaN" when the
run logs a loss every step, and how many steps of the window held NaN/Inf gradients."""
import io

import torch
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.present.live import run_live


def test_nan_run_header_says_nan(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    path = str(tmp_path / "nan.sqlite")
    with gd.watch(model, opt, store=path) as run:
        for _ in range(3):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    out = io.StringIO()
    run_live(path, once=True, console=Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "loss NaN" in text and "NaN/Inf gradients at 3 of the last 3 steps" in text, text
