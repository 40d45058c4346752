"""Regression: `graddoctor stats` on a run whose gradients had turned NaN printed "-" in every cell, the mark
for "not recorded": nothing said the values were NaN/Inf. The table caption now says which step recorded
non-finite gradients or outputs and in how many layers."""
import torch
from click.testing import CliRunner
from torch import nn

from graddoctor.cli import main

from . import watched_sgd


def test_stats_says_when_the_shown_step_is_non_finite(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 2))
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    x[0, 0] = float("nan")
    store = str(tmp_path / "nan.sqlite")
    watched_sgd(model, x, y, store=store)
    r = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["stats", store])
    assert r.exit_code == 0, r.output
    assert "NaN/Inf at step 2 in the gradients of 2 layer(s)" in " ".join(r.output.split()), r.output
