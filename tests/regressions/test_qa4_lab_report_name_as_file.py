"""QA4 (lab): `graddoctor lab report results results/nielsen.json` (what shell completion offers) said "no lab
result results/nielsen.json.json in results"; a NAME given as the result's file (or its page) now means that
experiment."""
from __future__ import annotations

import json

from click.testing import CliRunner

from graddoctor.cli import main


def test_name_given_as_its_file(tmp_path) -> None:
    (tmp_path / "saxe.json").write_text(json.dumps({"name": "saxe", "checks": []}))
    for arg in ("saxe.json", str(tmp_path / "saxe.json"), "saxe.html", "saxe"):
        r = CliRunner().invoke(main, ["lab", "report", str(tmp_path), arg])
        assert r.exit_code == 0, (arg, r.output)
        assert str(tmp_path / "saxe.html") in r.output
