"""Regression: ``print_diagnosis`` (the terminal view of ``run.diagnose()`` and ``gd.diagnose(path)``) of a run
that recorded no step printed "graddoctor run: No problems found." and an empty per-layer table: an all-clear
about steps that do not exist (``graddoctor diagnose`` refuses such a store, and the reports say "No steps were
recorded, so nothing was diagnosed."). It now says that too."""
import torch
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.present.console import print_diagnosis


def test_run_without_steps_is_not_an_all_clear(tmp_path):
    store = str(tmp_path / "run.sqlite")
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1))
    with gd.watch(model, torch.optim.SGD(model.parameters(), lr=0.1), store=store):
        pass
    console = Console(width=120, record=True, color_system=None)
    print_diagnosis(gd.diagnose(store, save=False), console)
    out = console.export_text()
    assert "No steps were recorded, so nothing was diagnosed." in out and "No problems found" not in out, out
