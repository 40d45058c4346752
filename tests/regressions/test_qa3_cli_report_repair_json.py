"""Regression: `graddoctor report RUN --repair r.json` crashed with a traceback ("TypeError: 'int' object is not
iterable") when the JSON had a 'baseline' key but 'trials' was not a list (a hand-edited or truncated file),
and drew an empty section when 'baseline' was not an object. The file is now checked: exit 2 naming what is
wrong."""
import json

from click.testing import CliRunner
from tests.present.present_fixtures import REPAIR, write_store

from graddoctor.cli import main


def test_malformed_repair_json_is_bad_usage(tmp_path):
    store = write_store(tmp_path / "run.sqlite", n_steps=10)
    for bad, what in (({"baseline": {}, "trials": 5}, "'trials' is not a list"),
                      ({"baseline": 1}, "'baseline' is not an object"),
                      ({"baseline": {}, "best": [1]}, "'best' is not an object or null")):
        (tmp_path / "r.json").write_text(json.dumps(bad))
        r = CliRunner().invoke(main, ["report", str(store), "-o", str(tmp_path / "r.html"), "--no-figures",
                                      "--repair", str(tmp_path / "r.json")])
        assert r.exit_code == 2 and r.exception is None or isinstance(r.exception, SystemExit), r.output
        assert r.exit_code == 2 and what in r.output, r.output
    (tmp_path / "r.json").write_text(json.dumps(REPAIR))
    r = CliRunner().invoke(main, ["report", str(store), "-o", str(tmp_path / "r.html"), "--no-figures",
                                  "--repair", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
