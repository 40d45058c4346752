"""`graddoctor repair` printed a raw traceback (and, through a pipe, exit status 0 of the pager) when the recipe
itself failed while the baseline trained past the preflight's first batch, e.g. a DataLoader whose last batch
holds one sample under BatchNorm. The recipe as given failing is bad usage: exit 2 with one line naming the
error, as the preflight does."""
from __future__ import annotations

from click.testing import CliRunner

from graddoctor.cli import main

USER = """
import torch, torch.nn as nn
import graddoctor as gd
from torch.utils.data import DataLoader, TensorDataset

def case():
    X, y = torch.randn(65, 5), torch.randint(0, 2, (65,))
    return gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)),
                   train=DataLoader(TensorDataset(X, y), batch_size=32), steps=6)
"""


def test_baseline_error_is_a_usage_error(tmp_path) -> None:
    (tmp_path / "net.py").write_text(USER)
    r = CliRunner().invoke(main, ["repair", f"{tmp_path / 'net.py'}:case", "--json"])
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    assert "training the baseline" in r.output and "Expected more than 1 value per channel" in r.output
    assert "Traceback" not in r.output
