"""Regression: the demo's live "speed of learning" table drew a column of bars with no heading, right of the
‖ΔW‖/‖W‖ column, so the bars read as the update ratio; they draw ‖∂L/∂out‖ on a log scale (a layer with a
smaller update ratio but a larger signal had the longer bar). The column now says what it draws."""
import torch
from rich.console import Console
from tests.regressions import watched_sgd
from torch import nn

from graddoctor.demo import _speed_table


def test_bar_column_has_a_heading():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 3))
    run = watched_sgd(model, torch.randn(16, 4), torch.randint(0, 3, (16,)), steps=3)
    table = _speed_table(run.data, 2)
    assert [str(c.header) for c in table.columns][-1] == "‖∂L/∂out‖, log scale"
    console = Console(width=120, record=True)
    console.print(table)
    assert "‖∂L/∂out‖, log scale" in console.export_text()
