"""Lightning: a callback serving several fits must not show the previous fit's AMP counts or diagnosis.

``cb.amp`` (the GradScaler tracker) was set only when a fit had a scaler and never cleared, so after a fit with a
GradScaler a later fit without one still reported the first fit's skipped steps in ``cb.amp.summary()`` (and
detached that old tracker again at its end); and ``cb.diagnosis`` kept the previous fit's findings (and ``cb.data`` its records) when a fit
ended before graddoctor started (e.g. a StoreError for a store path that exists). Both are now reset when a fit
starts.
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
        return loss * float("inf") if batch_idx == 0 else loss  # the scaler skips the first iteration

    def configure_optimizers(self):  # noqa: ANN201
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(cb, **kw):
    g = torch.Generator().manual_seed(0)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(24, 4, generator=g),
                                                                      torch.randn(24, 1, generator=g)), batch_size=8)
    L.Trainer(max_steps=2, callbacks=[cb], logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, accelerator="cpu", **kw).fit(_Module(), data)


def test_second_fit_has_its_own_amp_and_diagnosis(tmp_path):
    from lightning.pytorch.plugins import MixedPrecision

    from graddoctor.errors import StoreError
    from graddoctor.integrations.lightning import GradDoctorCallback

    cb = GradDoctorCallback(store=str(tmp_path / "run.sqlite"))
    _fit(cb, plugins=[MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu"))])
    assert cb.amp is not None and cb.amp.summary()["skipped_steps"] == 1
    assert cb.diagnosis is not None
    with pytest.raises(StoreError):  # same path, no overwrite: stops at on_fit_start
        _fit(cb)
    assert cb.diagnosis is None and cb.data is None
    cb.store = str(tmp_path / "second.sqlite")
    _fit(cb)  # no scaler
    assert cb.amp is None
