"""Lightning with several loggers: graddoctor's statistics reach every one of them, like ``self.log`` does.

The callback used ``trainer.logger``, the first logger only: with ``logger=[TensorBoardLogger(...), CSVLogger(...)]``
the CSV file held none of graddoctor's columns.
"""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

L = pytest.importorskip("lightning")

from lightning.pytorch.loggers import CSVLogger  # noqa: E402

from graddoctor.integrations.lightning import GradDoctorCallback  # noqa: E402


class _Net(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))

    def training_step(self, batch, i):  # noqa: ANN001
        x, y = batch
        return nn.functional.cross_entropy(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_every_logger_gets_the_statistics(tmp_path):
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 8, generator=g), torch.randint(0, 3, (32,), generator=g)
    loggers = [CSVLogger(str(tmp_path), name="first"), CSVLogger(str(tmp_path), name="second")]
    cb = GradDoctorCallback(store=None, diagnose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = L.Trainer(callbacks=[cb], max_epochs=1, enable_progress_bar=False, enable_model_summary=False,
                            logger=loggers, enable_checkpointing=False, log_every_n_steps=1)
        trainer.fit(_Net(), DataLoader(TensorDataset(x, y), batch_size=8))
    for lg in loggers:
        with open(Path(lg.log_dir) / "metrics.csv") as f:
            rows = list(csv.DictReader(f))
        losses = [r["graddoctor/loss"] for r in rows if r.get("graddoctor/loss")]
        assert len(losses) == 4, lg.name
