"""Regression: a run store that had been truncated (a copy cut short, a full disk) was called "not a graddoctor
run store (SQLite says: database disk image is malformed); pass the .sqlite file that gd.watch(store=...)
wrote" by every reader, though it was exactly that file, and ``graddoctor live`` retried it in silence for
--wait seconds (30 by default) as if a writer were still creating it. A file whose header names it a run
store is now reported as a damaged run store to restore from a copy, and the live view gives up at once."""
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from tests.regressions import watched_sgd
from torch import nn

import graddoctor as gd
from graddoctor.cli import main
from graddoctor.present import live


@pytest.fixture(scope="module")
def truncated(tmp_path_factory) -> str:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("damaged")
    store = folder / "run.sqlite"
    torch.manual_seed(0)
    watched_sgd(nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)), torch.randn(8, 4),
                torch.randint(0, 2, (8,)), steps=60, store=str(store))
    cut = folder / "cut.sqlite"
    blob = store.read_bytes()
    cut.write_bytes(blob[: len(blob) // 2])
    return str(cut)


@pytest.mark.parametrize("args", [["diagnose"], ["stats"], ["report", "-o", "{dir}/r.html"]])
def test_cli_calls_a_truncated_store_damaged(truncated, args):
    args = [a.replace("{dir}", str(Path(truncated).parent)) for a in args]
    res = CliRunner().invoke(main, [args[0], truncated, *args[1:]])
    assert res.exit_code == 2, res.output
    assert "is damaged" in res.output and "restore it from a copy" in res.output, res.output
    assert "not a graddoctor run store" not in res.output


def test_load_run_raises_a_store_error(truncated):
    with pytest.raises(gd.StoreError, match="is damaged"):
        gd.load_run(truncated)


def test_live_gives_up_at_once(truncated, monkeypatch):
    def no_retry(_seconds: float) -> None:
        raise AssertionError("the live view waited for a damaged store to become readable")

    monkeypatch.setattr(live.time, "sleep", no_retry)
    with pytest.raises(gd.StoreError, match="is damaged"):
        live.run_live(truncated, once=True, wait=30)
