"""Regression: `graddoctor repair` on a regression recipe with one NaN label printed a baseline whose "problems
after" were NaN/Inf and, below it, "The baseline shows no gradient problem (no warning or critical finding),
so no remedy was tried": the baseline's problem had no remedy, and an empty candidate list was taken for a
healthy baseline. Now `stopped == "no_remedy"`, the reason names the problem, and the audit finds the
non-finite training targets and the sample holding the first one."""
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.repair.table import print_result


def test_nan_label_is_reported_not_healthy():
    torch.manual_seed(0)
    X = torch.randn(600, 8)
    Y = X[:, :2].sum(1, keepdim=True)
    Y[333] = float("nan")
    case = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1)),
                   train=(X[:500], Y[:500]), val=(X[500:], Y[500:]), loss_fn=F.mse_loss,
                   optimizer_fn=lambda p: torch.optim.Adam(p, 1e-3), steps=40, batch_size=32)
    result = gd.repair(case, seeds=1)
    assert result.stopped == "no_remedy" and not result.trials and result.best is None
    audit = [f for f in result.baseline.findings if f.detector == "repair.audit"]
    assert audit and audit[0].causes == ["non_finite_loss"] and audit[0].evidence["first_sample"] == 333
    console = Console(record=True, width=200)
    print_result(result, console)
    text = console.export_text()
    assert "no gradient problem" not in text and "target" in text and "sample 333" in text
