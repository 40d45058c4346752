"""Regression: `graddoctor report run.sqlite -o run.sqlite` (a slip of tab completion) replaced the run store
with the HTML report: every recorded step lost, exit status 0. `-o run.sqlite-wal` wrote HTML into the store's
write-ahead log. A report is never written over an SQLite database or the side files of one; an existing
report is still replaced."""
import shutil

import pytest
from click.testing import CliRunner
from tests.present.present_fixtures import write_store

from graddoctor.cli import main
from graddoctor.present.html import render_run_report
from graddoctor.store.sqlite import load_run


def test_report_never_overwrites_the_run_store(tmp_path):
    store = write_store(tmp_path / "run.sqlite", n_steps=12)
    before = store.read_bytes()
    for out in (store, tmp_path / "run.sqlite-wal"):
        r = CliRunner().invoke(main, ["report", str(store), "-o", str(out), "--no-figures"])
        assert r.exit_code == 2, r.output
        assert "SQLite database" in r.output and "not overwritten" in r.output, r.output
    assert store.read_bytes() == before
    assert load_run(str(store)).n_steps == 12
    wal = tmp_path / "run.sqlite-wal"
    assert not wal.exists() or b"<html" not in wal.read_bytes()
    other = tmp_path / "other.sqlite"
    shutil.copy(store, other)
    with pytest.raises(ValueError, match="SQLite database"):
        render_run_report(str(store), other, figures=False)


def test_an_existing_report_is_replaced(tmp_path):
    store = write_store(tmp_path / "run.sqlite", n_steps=12)
    out = tmp_path / "r.html"
    out.write_text("old report")
    r = CliRunner().invoke(main, ["report", str(store), "-o", str(out), "--no-figures"])
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
