"""Regression: a remedy whose training raised (BatchNorm inserted into a recipe with one sample per batch:
"Expected more than 1 value per channel when training") aborted gd.repair() with that traceback, and the
baseline and every trial measured before it were lost. The trial is now recorded as failed (its error in
Trial.failed, to_dict()["failed"], the table's verdict) and the next remedy is tried."""
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.present.repair_view import repair_context
from graddoctor.repair.table import print_result


def _case() -> gd.Case:
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    return gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(8, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                                                  nn.Linear(16, 3)),
                   train=(X, y), val=(X, y), loss_fn=F.cross_entropy,
                   optimizer_fn=lambda p: torch.optim.SGD(p, lr=0.1), steps=4, batch_size=1)


def test_a_remedy_that_breaks_training_is_recorded_and_the_next_one_runs():
    result = gd.repair(_case(), seeds=1, remedies=["add_batchnorm", "he_init"], progress=False)
    bn, he = result.trials
    assert bn.failed is not None and "ValueError" in bn.failed and "value per channel" in bn.failed
    assert result.best is not bn
    assert he.failed is None and he.metrics          # the next remedy still trained
    assert result.baseline.metrics                   # the baseline is kept
    d = result.to_dict()
    assert "value per channel" in d["trials"][0]["failed"] and d["trials"][1]["failed"] == ""
    console = Console(width=120, record=True, no_color=True)
    print_result(result, console)
    text = console.export_text()
    assert "failed (error)" in text and "add_batchnorm failed while training: ValueError" in text
    cells = repair_context(d)["rows"][1]["cells"]
    assert "failed: ValueError" in cells[0]
