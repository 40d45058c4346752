"""Regression: ``gd.diagnose(store).report(path)`` of a run that recorded no step said "No problems found." (an
all-clear about steps that do not exist; the run report says "No steps were recorded, so nothing was
diagnosed.") and "Each layer's quantities at the last recorded step". It now says what the run report says,
and that no step was recorded."""
import torch
from torch import nn

import graddoctor as gd
from graddoctor.present.html import NO_STEPS_SUMMARY


def test_diagnosis_report_of_a_run_without_steps(tmp_path):
    store = str(tmp_path / "run.sqlite")
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1))
    with gd.watch(model, torch.optim.SGD(model.parameters(), lr=0.1), store=store):
        pass
    html = open(gd.diagnose(store, save=False).report(str(tmp_path / "r.html")), encoding="utf-8").read()
    assert NO_STEPS_SUMMARY in html and "No problems found" not in html
    assert "no step was recorded" in html
