"""Regression: passing a run store's SQLite side file instead of the store (``run.sqlite-wal`` or
``run.sqlite-shm``, one tab-completion away) was called "empty (0 bytes): it was never written or was truncated"
or "not a graddoctor run store (file is not a database)", with no word of the store beside it, and
``graddoctor live`` retried it in silence for --wait seconds. Every reader now says which store the file belongs
to and to pass that, and the live view says so at once."""
import sqlite3

import pytest
import torch
from click.testing import CliRunner
from tests.regressions import watched_sgd
from torch import nn

import graddoctor as gd
from graddoctor.cli import main
from graddoctor.present import live


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:  # noqa: ANN001
    path = str(tmp_path_factory.mktemp("side") / "run.sqlite")
    torch.manual_seed(0)
    watched_sgd(nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)), torch.randn(8, 4),
                torch.randint(0, 2, (8,)), steps=3, store=path)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # a reader leaves -wal and -shm beside the store
    con.execute("SELECT COUNT(*) FROM steps").fetchone()
    con.close()
    return path


@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
@pytest.mark.parametrize("cmd", [["stats"], ["diagnose"], ["report", "-o", "{dir}/r.html"]])
def test_cli_names_the_store_beside_the_side_file(store, suffix, cmd, tmp_path):
    args = [cmd[0], store + suffix, *[a.replace("{dir}", str(tmp_path)) for a in cmd[1:]]]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    flat = " ".join(res.output.split())
    assert f"beside the run store {store!r}" in flat and f"pass {store!r}" in flat, flat


def test_load_run_and_live_say_so_at_once(store, monkeypatch):
    with pytest.raises(gd.StoreError, match="beside the run store"):
        gd.load_run(store + "-wal")

    def no_retry(_seconds: float) -> None:
        raise AssertionError("the live view waited for a side file to become a store")

    monkeypatch.setattr(live.time, "sleep", no_retry)
    with pytest.raises(gd.StoreError, match="beside the run store"):
        live.run_live(store + "-wal", once=True, wait=30)
