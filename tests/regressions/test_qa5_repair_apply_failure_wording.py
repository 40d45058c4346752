"""Regression: a remedy whose application raised (not its training) was reported as "he_init failed while
training: RuntimeError while applying the remedy: ...", and the no-winner sentence said "1 failed while
training", though no training had started. Now the terminal says "failed: RuntimeError while applying the
remedy: ..." and the sentence "1 failed while being applied" (a failure during training keeps its wording)."""
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.repair.remedies import ModelRemedy
from graddoctor.repair.table import print_result


class Broken(ModelRemedy):
    code = "he_init"

    def transform(self, model, ctx):
        raise RuntimeError("boom")


def test_apply_failure_is_not_a_training_failure():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    case = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3)), train=(X, y),
                   loss_fn=F.cross_entropy, steps=2, batch_size=32)
    result = gd.repair(case, seeds=1, remedies=[Broken()], progress=False)
    assert result.trials[0].failed == "RuntimeError while applying the remedy: boom"
    console = Console(record=True, width=300)
    print_result(result, console)
    text = console.export_text()
    assert "he_init failed: RuntimeError while applying the remedy: boom" in text
    assert "failed while training" not in text
    assert "of the 1 tried, 1 failed while being applied" in result.no_winner_reason()
