"""Regression (QA pass 5): `graddoctor lab report EMPTY_DIR` (a folder with no lab results, e.g. a wrong --out)
exited 1, the status every other command keeps for "problems found" and `lab run` for a failed reproduction
check, while a missing NAME in the same command exited 2 (bad usage). A folder without results is now bad usage
too: exit 2, with the message naming the folder."""
from click.testing import CliRunner

from graddoctor.cli import main


def test_empty_results_folder_is_bad_usage(tmp_path):
    res = CliRunner().invoke(main, ["lab", "report", str(tmp_path)])
    assert res.exit_code == 2
    assert "no lab results" in res.output and str(tmp_path) in res.output
