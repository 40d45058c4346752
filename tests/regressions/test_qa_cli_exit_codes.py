"""Regression: (1) `stats`, `report` and `live` exited with status 1 for a missing or invalid store, while
`diagnose` and `check` give 2 for bad usage and `live` uses 1 for "the run failed": the same status meant two
things. User errors now exit 2 in every command (documented in each --help). (2) A store with no recorded
step was reported healthy: `graddoctor diagnose` printed "No problems found." and exited 0, and the HTML
report's summary said "No problems found.". diagnose now exits 2 saying there is nothing to diagnose, and the
report says no steps were recorded."""
import torch
from click.testing import CliRunner
from torch import nn

import graddoctor as gd
from graddoctor.cli import main


def test_bad_store_is_exit_2_everywhere(tmp_path):
    missing = str(tmp_path / "missing.sqlite")
    not_a_store = tmp_path / "notes.sqlite"
    not_a_store.write_text("not a database")
    runner = CliRunner()
    for args in (["stats", missing], ["report", missing, "-o", str(tmp_path / "r.html")],
                 ["live", missing, "--wait", "0"], ["diagnose", missing],
                 ["stats", str(not_a_store)], ["report", str(not_a_store), "-o", str(tmp_path / "r.html")],
                 ["live", str(not_a_store), "--once", "--wait", "0"]):
        r = runner.invoke(main, args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output
    for cmd in ("stats", "report", "live", "diagnose"):
        assert "Exit code:" in runner.invoke(main, [cmd, "--help"]).output, cmd


def test_a_store_without_steps_is_not_called_healthy(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    store = str(tmp_path / "empty.sqlite")
    with gd.watch(model, torch.optim.SGD(model.parameters(), lr=0.1), store=store):
        pass
    runner = CliRunner()
    r = runner.invoke(main, ["diagnose", store])
    assert r.exit_code == 2 and "no recorded steps" in r.output and "No problems" not in r.output, r.output
    r = runner.invoke(main, ["stats", store])
    assert r.exit_code == 2 and "no recorded steps" in r.output
    out = tmp_path / "r.html"
    r = runner.invoke(main, ["report", store, "-o", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "No problems found" not in html and "No steps were recorded" in html
