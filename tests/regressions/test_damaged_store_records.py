"""Regression: load_run let JSONDecodeError, ValueError ("buffer size must be a multiple of element size")
and TypeError escape from a store whose records were damaged, a 0-byte file was called "an SQLite file but
not a graddoctor run store", and a directory was said not to exist. A write failing inside SQLite (disk
full, read-only) surfaced as a bare sqlite3 error with SQLite's stack. All are now StoreErrors that name
the file and the problem, without the SQLite exception chained."""
import shutil
import sqlite3

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.store.sqlite import SQLiteStore


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "run.sqlite"
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=path):
        for _ in range(3):
            opt.zero_grad()
            model(torch.randn(4, 3)).sum().backward()
            opt.step()
    return path


@pytest.mark.parametrize("sql", ["UPDATE meta SET value = '{x' WHERE key = 'status'",
                                 "UPDATE layer_stats SET data = x'0102' WHERE step = 1",
                                 "UPDATE layers SET info = 'null'"])
def test_damaged_records_are_store_errors(store, tmp_path, sql):
    bad = tmp_path / "bad.sqlite"
    shutil.copy(store, bad)
    con = sqlite3.connect(bad)
    con.execute(sql)
    con.commit()
    con.close()
    with pytest.raises(gd.StoreError, match="damaged") as info:
        gd.load_run(bad)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_empty_file_and_directory(tmp_path):
    (tmp_path / "empty.sqlite").write_bytes(b"")
    with pytest.raises(gd.StoreError, match="empty"):
        gd.load_run(tmp_path / "empty.sqlite")
    with pytest.raises(gd.StoreError, match="directory"):
        gd.load_run(tmp_path)


def test_write_failure_inside_sqlite_is_a_store_error(store, tmp_path):
    s = SQLiteStore(tmp_path / "w.sqlite")
    s._con.execute("PRAGMA query_only = ON")
    with pytest.raises(gd.StoreError, match="cannot write to run store") as info:
        s.update_meta({"a": 1})
    assert info.value.__cause__ is None
    s._con.execute("PRAGMA query_only = OFF")
    s.update_meta({"a": 2})  # the connection is still usable afterwards
    s.close("finished")
    assert gd.load_run(tmp_path / "w.sqlite").meta["a"] == 2
