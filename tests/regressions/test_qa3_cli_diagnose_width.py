"""Regression: `graddoctor diagnose` printed its per-layer table through check's fixed 12-column table: in a
60-column terminal rich squeezed every cell to two characters ("2…" for 2.83e-05, "L…" for Linear), and
piped output was always 150 columns wide whatever COLUMNS said. It now prints the present layer's diagnosis
view (docs/report.md), whose tables fit the width by leaving out the last columns and naming them."""
import re

import torch
from click.testing import CliRunner
from torch import nn

from graddoctor.cli import main

from . import watched_sgd


def test_diagnose_fits_a_narrow_terminal_without_mangling_numbers(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3))
    store = str(tmp_path / "run.sqlite")
    watched_sgd(model, torch.randn(32, 8), torch.randint(0, 3, (32,)), steps=5, store=store)
    for width in (60, 200):
        r = CliRunner(env={"COLUMNS": str(width)}).invoke(main, ["diagnose", "--no-save", store])
        assert r.exit_code in (0, 1), r.output
        lines = r.output.splitlines()
        assert max(len(line.rstrip()) for line in lines) <= width, r.output
        assert "…" not in r.output, r.output
        # the backward signal of every layer is printed as a whole number
        assert len(re.findall(r"\d\.\d+e-\d\d|\b0\.\d+", r.output)) >= 5, r.output
    assert "not shown for width" in CliRunner(env={"COLUMNS": "60"}).invoke(
        main, ["diagnose", "--no-save", store]).output
