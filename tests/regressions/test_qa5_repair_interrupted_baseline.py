"""Regression: Ctrl-C while the baseline was training (before any remedy was ranked) was reported as "stopped
early: interrupted (Ctrl-C), 0 remedies tried; not tried: -", which reads as if every candidate had been tried.
Now the note says the baseline was interrupted before any remedy was ranked or tried, in the terminal,
describe(), --json and the report."""
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.present.repair_view import repair_context
from graddoctor.repair.table import print_result


def test_ctrl_c_in_the_baseline():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    calls = []

    def train_fn(model, case):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    case = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3)), train=(X, y),
                   loss_fn=F.cross_entropy, steps=2, batch_size=32)
    result = gd.repair(case, seeds=2, train_fn=train_fn, progress=False)
    assert result.stopped == "interrupted" and not result.trials
    console = Console(record=True, width=300)
    print_result(result, console)
    for said in (console.export_text(), result.describe(), result.to_dict()["stop_note"],
                 repair_context(result.to_dict())["verdict"]):
        assert "while training the baseline, before any remedy was ranked" in said, said
        assert "not tried: -" not in said
