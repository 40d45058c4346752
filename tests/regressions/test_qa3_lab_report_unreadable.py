"""`graddoctor lab report DIR NAME` on a NAME.json that exists but is damaged (truncated, hand-edited) said
"no lab result NAME.json in DIR", sending the user looking for a file that is there; it now says the file is
not a lab result."""
from __future__ import annotations

import json

from click.testing import CliRunner

from graddoctor.cli import main


def test_damaged_json_is_named_as_damaged(tmp_path) -> None:
    (tmp_path / "glorot.json").write_text('{"name": "glorot", "checks": [')
    (tmp_path / "saxe.json").write_text(json.dumps({"name": "saxe", "checks": []}))
    r = CliRunner().invoke(main, ["lab", "report", str(tmp_path), "glorot"])
    assert r.exit_code == 2 and "glorot.json" in r.output and "is not a lab result" in r.output, r.output
    r = CliRunner().invoke(main, ["lab", "report", str(tmp_path), "nielsen"])
    assert r.exit_code == 2 and "no lab result nielsen.json" in r.output, r.output
