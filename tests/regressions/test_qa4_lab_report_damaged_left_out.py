"""QA4 (lab): `graddoctor lab report DIR` (no names) silently left out a damaged <name>.json (truncated by a
run killed while saving, hand-edited): the other pages and the index were re-rendered without it, and a folder
whose only result was damaged said "no lab results ... in DIR". Now each damaged result file is named in a
warning."""
from __future__ import annotations

import json

from click.testing import CliRunner

from graddoctor.cli import main


def test_damaged_result_is_named(tmp_path) -> None:
    (tmp_path / "glorot.json").write_text('{"name": "glorot", "checks": [')
    (tmp_path / "saxe.json").write_text(json.dumps({"name": "saxe", "checks": []}))
    (tmp_path / "repair.json").write_text("{}")            # not named after an experiment: not a lab file
    r = CliRunner().invoke(main, ["lab", "report", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "glorot.json" in r.output and "not a lab result" in r.output, r.output
    assert "repair.json" not in r.output
    assert (tmp_path / "saxe.html").exists() and not (tmp_path / "glorot.html").exists()


def test_only_damaged_results(tmp_path) -> None:
    (tmp_path / "nielsen.json").write_text("[1, 2]")
    r = CliRunner().invoke(main, ["lab", "report", str(tmp_path)])
    assert r.exit_code == 2  # nothing usable in the folder: bad usage (test_qa5_cli_lab_report_empty_exit)
    assert "nielsen.json" in r.output and "not a lab result" in r.output, r.output
