"""Regression: `graddoctor live report.html` (or any file that is not a run store, such as a database of another
program) printed nothing for 30 seconds, --once included, before saying that the file is not a run store:
the view retried every read error for --wait seconds, as it must while a writer is still creating the store.
A file whose header shows that it can never become a run store is now an error at once (exit 2)."""
import sqlite3
import time

from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.store.sqlite import APPLICATION_ID, never_a_store


def test_live_rejects_a_file_that_is_not_a_store_at_once(tmp_path):
    html = tmp_path / "report.html"
    html.write_text("<!DOCTYPE html><html></html>")
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("PRAGMA application_id = 5")
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    for path in (html, other):
        t0 = time.monotonic()
        r = CliRunner().invoke(main, ["live", "--once", str(path)])
        assert r.exit_code == 2, r.output
        assert "not a graddoctor run store" in r.output
        assert time.monotonic() - t0 < 10, "waited for the --wait patience (30 s)"


def test_files_a_writer_may_still_be_creating_are_waited_for(tmp_path):
    empty = tmp_path / "new.sqlite"
    empty.write_bytes(b"")
    assert not never_a_store(empty)
    fresh = tmp_path / "fresh.sqlite"
    con = sqlite3.connect(fresh)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT)")
    con.commit()
    con.close()
    assert not never_a_store(fresh)  # application id not set yet
    con = sqlite3.connect(fresh)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.commit()
    con.close()
    assert not never_a_store(fresh)
