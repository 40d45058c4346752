"""Regression: ``gd.watch(model, opt, store=path)`` with ``path`` an existing empty file (``touch``, ``mktemp``,
``tempfile.NamedTemporaryFile(suffix=".sqlite")``, the usual way to get a scratch path in a test or a notebook)
was refused, with or without ``overwrite=True``: "'...' is an SQLite file but not a graddoctor run store; pass
the .sqlite file that gd.watch(store=...) wrote". An empty file holds nothing to lose: it becomes the store. A
file with content that is not a store is still refused."""
from pathlib import Path

import pytest
import torch
from tests.regressions import watched_sgd
from torch import nn

import graddoctor as gd


@pytest.mark.parametrize("overwrite", [False, True])
def test_empty_file_becomes_the_store(tmp_path: Path, overwrite: bool) -> None:
    path = tmp_path / "scratch.sqlite"
    path.touch()
    torch.manual_seed(0)
    watched_sgd(nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)), torch.randn(8, 4),
                torch.randint(0, 2, (8,)), steps=3, store=str(path), overwrite=overwrite)
    assert gd.load_run(path).n_steps == 3


def test_file_with_content_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("my notes", encoding="utf-8")
    with pytest.raises(gd.StoreError, match="not a graddoctor run store"):
        gd.watch(nn.Linear(2, 2), store=str(path), overwrite=True).start()
    assert path.read_text(encoding="utf-8") == "my notes"
