"""Regression: ``graddoctor report RUN --repair result.json`` with a result whose curves hold something that is
not a number (a hand-edited or truncated JSON) said "cannot write the report: could not convert string to
float: 'a'", sending the user after the output path. It now names the --repair file as the problem (exit 2)."""
import json
from pathlib import Path

from click.testing import CliRunner
from tests.present.present_fixtures import write_store

from graddoctor.cli import main


def test_bad_repair_values_name_the_repair_file(tmp_path: Path) -> None:
    store = str(write_store(tmp_path / "run.sqlite", n_layers=3, n_steps=5))
    bad = tmp_path / "repair.json"
    bad.write_text(json.dumps({"baseline": {"name": "baseline", "curves": {"loss": [[1.0, "a"]]}}}), encoding="utf-8")
    res = CliRunner().invoke(main, ["report", store, "-o", str(tmp_path / "r.html"), "--repair", str(bad)])
    assert res.exit_code == 2, res.output
    flat = " ".join(res.output.split())
    assert "cannot write the report" not in flat and "--repair" in flat and "repair.json" in flat, flat
