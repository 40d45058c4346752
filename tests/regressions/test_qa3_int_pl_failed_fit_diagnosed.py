"""Lightning: a fit that ends in an exception is diagnosed too, and the loggers get its findings.

The callback diagnosed finished fits only, so the run most worth a diagnosis (training stopped by the user's own
NaN check) logged ``n_findings = 0`` and left ``callback.diagnosis`` None. Diagnosing must not hide the
exception that ended the fit.
"""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

L = pytest.importorskip("lightning")

from graddoctor.integrations.lightning import GradDoctorCallback  # noqa: E402


class _NaNStop(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))

    def training_step(self, batch, i):  # noqa: ANN001
        x, y = batch
        if i == 3:
            x = x.clone()
            x[0, 0] = float("nan")  # bad data reaches the model
        loss = nn.functional.cross_entropy(self.net(x), y)
        if i == 5 and not torch.isfinite(loss):
            raise FloatingPointError("loss is NaN, stopping")  # the user's own guard
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_failed_fit_is_diagnosed():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    cb = GradDoctorCallback(store=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = L.Trainer(callbacks=[cb], max_epochs=1, enable_progress_bar=False, enable_model_summary=False,
                            logger=False, enable_checkpointing=False)
        with pytest.raises(FloatingPointError, match="loss is NaN"):
            trainer.fit(_NaNStop(), DataLoader(TensorDataset(x, y), batch_size=8))
    assert cb.diagnosis is not None
    nonfinite = [f for f in cb.diagnosis.findings if f.kind == "non_finite"]
    assert nonfinite and nonfinite[0].step == 3
