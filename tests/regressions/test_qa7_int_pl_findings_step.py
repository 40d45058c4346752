"""Lightning loggers: the findings (``graddoctor/finding/<kind>``, ``graddoctor/n_findings``) are logged at the
fit's last step, not at step 0 or at an arbitrary one.

``LoggerSink.finish`` called ``logger.log_metrics(levels)`` without a step: TensorBoard put them at step 0 (the
start of the run's charts, as if found before training). They are now logged
at the last step graddoctor logged its statistics at.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

L = pytest.importorskip("lightning")


class _Module(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))

    def training_step(self, batch, batch_idx):  # noqa: ANN001, ANN201
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):  # noqa: ANN201
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_findings_logged_at_last_step(tmp_path):
    pytest.importorskip("tensorboard")
    from lightning.pytorch.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from graddoctor.integrations.lightning import GradDoctorCallback

    g = torch.Generator().manual_seed(0)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(64, 4, generator=g),
                                                                      torch.randn(64, 1, generator=g)), batch_size=8)
    logger = TensorBoardLogger(str(tmp_path), name="tb")
    L.Trainer(max_steps=6, callbacks=[GradDoctorCallback()], logger=logger, log_every_n_steps=1,
              enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
              accelerator="cpu").fit(_Module(), data)
    ev = EventAccumulator(logger.log_dir)
    ev.Reload()
    assert [e.step for e in ev.Scalars("graddoctor/loss")] == [e.step for e in ev.Scalars("train_loss")] == \
        list(range(6))
    assert [e.step for e in ev.Scalars("graddoctor/n_findings")] == [5]
