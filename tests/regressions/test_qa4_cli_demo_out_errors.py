"""Regression: ``graddoctor demo --out DIR`` with a folder that cannot be created (a path under a file), or with a
``DIR/demo.sqlite`` that is a folder or another program's file, ended in a Python traceback (NotADirectoryError,
StoreError) instead of a usage error. Each is now exit status 2 with a message naming the path and the fix, before
any training."""
from click.testing import CliRunner

from graddoctor.cli import main


def _demo(out):
    return CliRunner().invoke(main, ["demo", "--out", str(out), "--no-repair", "--no-report", "--steps", "10"])


def test_out_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    res = _demo(tmp_path / "afile" / "sub")
    assert res.exit_code == 2, res.output
    assert "cannot create the output folder" in res.output and "Traceback" not in res.output


def test_demo_store_is_a_folder_or_foreign(tmp_path):
    (tmp_path / "a" / "demo.sqlite").mkdir(parents=True)
    res = _demo(tmp_path / "a")
    assert res.exit_code == 2 and "is a folder" in res.output, res.output
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "demo.sqlite").write_text("my notes, not a database")
    res = _demo(tmp_path / "b")
    assert res.exit_code == 2 and "not a graddoctor run store" in res.output, res.output
    assert (tmp_path / "b" / "demo.sqlite").read_text() == "my notes, not a database"
