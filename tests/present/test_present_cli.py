"""The report, stats and live commands (click runner; no subprocess)."""
from __future__ import annotations

import json

from click.testing import CliRunner
from present_fixtures import REPAIR, VANISHING

from graddoctor.cli import main

ENV = {"COLUMNS": "100", "NO_COLOR": "1"}


def test_stats_golden(make_store, golden, monkeypatch, tmp_path):
    make_store(n_layers=4, n_steps=12)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["stats", "run.sqlite", "--step", "7"], env=ENV)
    assert res.exit_code == 0, res.output
    golden("stats.txt", res.output)


def test_stats_json_and_errors(make_store, monkeypatch, tmp_path):
    make_store(n_layers=3, n_steps=10)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["stats", "run.sqlite", "--json"], env=ENV)
    d = json.loads(res.output)
    assert d["step"] == 9 and [r["layer"] for r in d["layers"]] == ["layers.0", "layers.1", "layers.2"]
    assert d["layers"][0]["signal_norm"] > 0 and d["layers"][0]["act_dead"] is None
    res = CliRunner().invoke(main, ["stats", "run.sqlite", "--step", "99"], env=ENV)
    assert res.exit_code != 0 and "step 99 was not recorded" in res.output
    res = CliRunner().invoke(main, ["stats", "missing.sqlite"], env=ENV)
    assert res.exit_code != 0 and "does not exist" in res.output


def test_report_command_writes_html_pngs_and_reads_a_repair(make_store, tmp_path):
    store = make_store(findings=[VANISHING])
    repair = tmp_path / "repair.json"
    repair.write_text(json.dumps(REPAIR))
    out = tmp_path / "out.html"
    res = CliRunner().invoke(main, ["report", str(store), "-o", str(out), "--repair", str(repair),
                                    "--no-figures", "--max-steps", "10"], env=ENV)
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "report:" in res.output and str(out.name) in res.output
    assert 'id="repair"' in html and 'id="downsample-note"' in html
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    res = CliRunner().invoke(main, ["report", str(store), "-o", str(out), "--repair", str(bad)], env=ENV)
    assert res.exit_code != 0 and "not a repair result" in res.output
    res = CliRunner().invoke(main, ["report", str(tmp_path / "none.sqlite")], env=ENV)
    assert res.exit_code != 0 and "does not exist" in res.output


def test_live_once_golden(make_store, golden, monkeypatch, tmp_path):
    make_store(n_layers=4, n_steps=30, findings=[VANISHING])
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["live", "run.sqlite", "--once"], env=ENV)
    assert res.exit_code == 0, res.output
    assert "100 steps/s" in res.output and "step 29" in res.output
    golden("live_once.txt", res.output)
