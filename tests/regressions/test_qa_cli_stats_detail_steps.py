"""Regression: `graddoctor stats RUN` (no --step) showed "-" for every statistic taken on detail steps only
(‖∇W‖/‖W‖, ‖ΔW‖/‖W‖, activation mean, saturated) whenever the last recorded step was not a detail step,
i.e. for 9 runs in 10 with the default detail_every=10, and `--json` gave null for them: the command passed
the last step explicitly, which turned off the table's "read it at the last step that recorded it" rule.
Both now read those statistics at the last step that has them and say which (caption; JSON "from_step")."""
import json

import torch
from click.testing import CliRunner
from torch import nn

import graddoctor as gd
from graddoctor.cli import main


def _store(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    path = tmp_path / "run.sqlite"
    with gd.watch(model, opt, store=path, detail_every=10) as run:
        for _ in range(12):                       # steps 0..11: the last detail step is 10
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return str(path)


def test_stats_reads_detail_statistics_at_their_last_step(tmp_path):
    path = _store(tmp_path)
    r = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["stats", path])
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if line.strip().startswith("0 "))
    assert row.split()[4] != "-" and row.split()[6] != "-", row   # ‖∇W‖/‖W‖ and act mean have values
    assert "from step 10 (the last step that recorded them)" in r.output
    r = CliRunner().invoke(main, ["stats", path, "--json"])
    d = json.loads(r.output)
    assert d["step"] == 11 and d["from_step"]["grad_ratio"] == 10 and d["from_step"]["signal_norm"] == 11
    assert all(layer["grad_ratio"] is not None and layer["act_mean"] is not None for layer in d["layers"])
