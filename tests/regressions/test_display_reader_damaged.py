"""Regression: the reader behind the live view and the report (present.sampling.load_for_display) let
JSONDecodeError and ValueError escape from a store with damaged records, where load_run now raises a
StoreError. Both readers now give the same clear error."""
import shutil
import sqlite3

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.present.sampling import load_for_display


def test_damaged_json_and_blob(tmp_path):
    path = tmp_path / "run.sqlite"
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=path):
        for _ in range(3):
            opt.zero_grad()
            model(torch.randn(4, 3)).sum().backward()
            opt.step()
    for sql in ("UPDATE meta SET value = '{x' WHERE key = 'status'", "UPDATE layer_stats SET data = x'0102'"):
        bad = tmp_path / "bad.sqlite"
        shutil.copy(path, bad)
        con = sqlite3.connect(bad)
        con.execute(sql)
        con.commit()
        con.close()
        with pytest.raises(gd.StoreError, match="damaged"):
            load_for_display(bad)
