"""Ctrl-C while a remedy trained left that trial in result.trials with the seeds it had finished and no judgement
(gain None), and the table gave it the verdict "also works"; the outcome line said "No remedy beat the baseline
by more than the seed-to-seed spread", as if it had been compared. The verdict is now "interrupted (not
judged)" and the outcome says the run was interrupted before any remedy finished its trial."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.repair.table import print_result

STEPS = 8


def test_interrupted_trial_is_not_reported_as_working() -> None:
    calls = [0]

    def loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        if calls[0] == 3 * (STEPS + 1) + 3:  # baseline: 2 seeds x (steps + 1 evaluation), candidate: 1 seed; then
            raise KeyboardInterrupt  # inside the candidate's second seed
        return F.cross_entropy(out, t)

    X = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))
    case = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(5, 8), nn.Sigmoid(), nn.Linear(8, 2)),
                   train=(X, (X[:, 0] > 0).long()), loss_fn=loss, steps=STEPS, batch_size=16)
    result = gd.repair(case, remedies=["he_init", "use_adam"], progress=False)
    assert result.stopped == "interrupted"
    (trial,) = result.trials
    assert trial.seeds == [0] and trial.gain is None
    console = Console(width=200, record=True, no_color=True)
    print_result(result, console)
    text = console.export_text()
    assert "also works" not in text and "interrupted (not judged)" in text
    assert "beat the baseline" not in text and "interrupted before any remedy finished" in text.lower()
    assert "interrupted before any remedy finished" in result.describe()
