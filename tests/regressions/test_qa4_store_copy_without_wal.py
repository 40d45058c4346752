"""Regression: a run store copied while its run was being written (or after its writer was killed) without the
``-wal`` file beside it, the usual ``scp run.sqlite`` of a training in progress, was refused with "is an SQLite
file but not a graddoctor run store; pass the .sqlite file that gd.watch(store=...) wrote": the user had passed
exactly that file. Its records (and its application id) were still in the write-ahead log. The error now says
so and asks for the -wal file; a foreign SQLite file still gets the old message."""
import shutil
import sqlite3

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import StoreError


def test_copy_without_its_wal_names_the_missing_log(tmp_path):
    src = tmp_path / "run.sqlite"
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    run = gd.watch(model, opt, store=str(src), flush_every=2)
    run.__enter__()
    for _ in range(4):  # flushed to the WAL, not yet checkpointed into run.sqlite
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.step(loss=loss)
    try:
        (tmp_path / "copy").mkdir()
        dst = tmp_path / "copy" / "run.sqlite"
        shutil.copyfile(src, dst)  # the main file only, as scp of run.sqlite does
        with pytest.raises(StoreError) as e:
            gd.load_run(dst)
        msg = str(e.value)
        assert "not a graddoctor run store" not in msg
        assert "run.sqlite-wal" in msg and "write-ahead log" in msg
    finally:
        run.__exit__(None, None, None)
    assert gd.load_run(src).n_steps == 4  # the original is intact


def test_a_foreign_sqlite_file_keeps_its_message(tmp_path):
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a graddoctor run store"):
        gd.load_run(other)
