"""The demo's live speed table names the step its ‖ΔW‖/‖W‖ column comes from.

The update ratio is measured on detail steps only; at step 12 the table showed step 10's values under the
heading of step 12 without saying so.
"""
from __future__ import annotations

import torch
from rich.console import Console
from torch import nn

from graddoctor.demo import _speed_table

from . import watched_sgd


def _render(table) -> str:  # noqa: ANN001
    console = Console(width=120, record=True)
    console.print(table)
    return console.export_text()


def test_speed_table_names_the_update_ratio_step():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 3))
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    run = watched_sgd(m, x, y, steps=13)
    text = _render(_speed_table(run.data, 12))
    assert "speed of learning, step 12" in text and "‖ΔW‖/‖W‖ (step 10)" in text
    run = watched_sgd(m, x, y, steps=11)  # the last step (10) is a detail step: no note
    text = _render(_speed_table(run.data, 10))
    assert "‖ΔW‖/‖W‖" in text and "(step" not in text
