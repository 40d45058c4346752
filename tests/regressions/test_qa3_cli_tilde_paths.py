"""Regression: the shell expands "~" only at the start of a word, so `graddoctor report RUN --png-dir=~/figs`
(and --output=~/r.html, quoted paths, `demo --out=~/runs`) reached graddoctor as a literal "~": --png-dir
created a folder named "~" in the current directory and --output failed with "directory '~' does not exist".
The path arguments of report, stats, diagnose, live and demo now expand "~"."""
import os

from click.testing import CliRunner
from tests.present.present_fixtures import write_store

from graddoctor.cli import main


def test_tilde_paths_are_expanded(tmp_path, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    write_store(home / "run.sqlite", n_steps=6)
    runner = CliRunner()
    r = runner.invoke(main, ["report", "~/run.sqlite", "--output=~/r.html", "--png-dir=~/figs", "--no-diagnose"])
    assert r.exit_code == 0, r.output
    assert (home / "r.html").is_file() and any((home / "figs").glob("*.png"))
    assert not os.path.exists(work / "~")
    for args in (["stats", "~/run.sqlite"], ["diagnose", "--no-save", "~/run.sqlite"],
                 ["live", "--once", "~/run.sqlite"]):
        r = runner.invoke(main, args)
        assert r.exit_code in (0, 1), (args, r.output)
    assert not os.path.exists(work / "~")
