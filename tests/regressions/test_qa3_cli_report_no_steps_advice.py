"""Regression: the report of a run stopped before its first recorded step said, under Learning speed, "No update
ratios were recorded (watch() needs the optimizer to measure them)" and, under Activations, "(watch(activations=True)
records them)", although the run had both the optimizer and activations on: the advice sent the user to change
settings that were right (and watch() measures update ratios without the optimizer too). A run without steps
now says so in each section; the activations advice is given only when the stored settings turned them off."""
import torch
from torch import nn

import graddoctor as gd
from graddoctor.present.html import render_run_report


def _run(path, optimizer: bool, steps: int = 0):
    model = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1) if optimizer else None
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    with gd.watch(model, opt, store=str(path)) as run:
        for _ in range(steps):
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            if opt:
                opt.step()
            else:
                run.step(loss=loss)
            model.zero_grad()
    return str(path)


def test_zero_step_report_gives_no_settings_advice(tmp_path):
    html = render_run_report(_run(tmp_path / "zero.sqlite", optimizer=True), tmp_path / "r.html").read_text()
    assert "needs the optimizer" not in html and "activations=True" not in html
    assert "no steps were recorded" in html
