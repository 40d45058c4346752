"""Regression: on a run whose gradients turned NaN, `graddoctor stats` (and the report's per-layer table) read
every statistic that was NaN at the last step "at the last step that recorded them", including statistics
recorded on every step: the table at step 39 printed the finite backward signals and gradient norms of step 1,
before the blow-up, as if they were current, and `stats --json` gave them as numbers. A NaN of a statistic
recorded on every step is what the step measured; detail-step statistics now come from the last detail step
(which recorded NaN too), never from before the blow-up."""
import json

import torch
from click.testing import CliRunner
from torch import nn

from graddoctor.cli import main
from graddoctor.present.html import render_run_report

from . import watched_sgd


def _blown_up(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    store = str(tmp_path / "blown.sqlite")
    watched_sgd(model, x, y, steps=25, lr=1e6, store=store)
    return store


def test_stats_never_shows_values_from_before_the_blow_up(tmp_path):
    store = _blown_up(tmp_path)
    r = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["stats", "--json", store])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["step"] == 24
    for row in d["layers"]:
        assert row["signal_norm"] is None and row["weight_grad_norm"] is None, row
    assert d["from_step"]["signal_norm"] == 24
    assert d["from_step"]["act_mean"] == 20  # the last detail step, not step 0 or 1
    r = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["stats", store])
    text = " ".join(r.output.split())
    assert "‖∂L/∂out‖" in text and "from step 1 " not in text and "from step 0 " not in text, r.output
    assert "NaN/Inf at step 24" in text


def test_report_table_keeps_recorded_columns_and_says_why_they_are_empty(tmp_path):
    store = _blown_up(tmp_path)
    html = render_run_report(store, tmp_path / "r.html", figures=False).read_text(encoding="utf-8")
    table = html[html.index("Per-layer statistics"):]
    assert "‖∂L/∂out‖" in table and "‖∇W‖" in table
    assert "NaN/Inf at step 24" in table
    assert "from step 1 " not in table and "from step 0 " not in table
