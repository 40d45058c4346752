"""Lightning: GradDoctorCallback(overwrite=True) lost ``overwrite`` after the first fit.

With a logger, on_fit_start popped ``overwrite`` out of the callback's own ``watch_kwargs``, so a second
``trainer.fit`` with the same callback (a second stage, or a fit resumed from a checkpoint) raised
"run store ... already exists; pass overwrite=True" although the user had passed it. Now a copy is used.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import graddoctor as gd

L = pytest.importorskip("lightning")


class _Module(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)  # a metric of the user's own (test_qa_int_pl_resume_logger_steps)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_overwrite_survives_a_second_fit(tmp_path) -> None:
    from lightning.pytorch.loggers import CSVLogger

    from graddoctor.integrations.lightning import GradDoctorCallback

    data = torch.utils.data.TensorDataset(torch.randn(16, 4), torch.randn(16, 1))
    cb = GradDoctorCallback(store=str(tmp_path / "run.sqlite"), overwrite=True)
    module = _Module()
    for max_steps in (3, 5):  # the second fit continues to 5 steps and replaces the store, as asked
        trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=max_steps, callbacks=[cb],
                            logger=CSVLogger(str(tmp_path), name="csv"), enable_progress_bar=False,
                            enable_model_summary=False, enable_checkpointing=False)
        trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=4))
    assert gd.load_run(tmp_path / "run.sqlite").n_steps == 5
