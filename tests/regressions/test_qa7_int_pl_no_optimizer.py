"""Lightning: a fit whose ``configure_optimizers()`` returns None must not be stopped by the callback.

Lightning runs such a fit (with a warning) on a stand-in ``_MockOptimizer`` that holds no parameter; the callback
watched that stand-in and ``fit()`` failed at its start with ``ModelError: the _MockOptimizer holds none of the
model's parameters``. The callback now warns that there is no optimizer step to record and leaves the fit alone.
"""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import graddoctor as gd

L = pytest.importorskip("lightning")


class _NoOptimizer(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 1)
        self.batches = 0

    def training_step(self, batch, batch_idx):  # noqa: ANN001, ANN201
        x, y = batch
        self.batches += 1
        return nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):  # noqa: ANN201
        return None


def test_fit_without_optimizer_runs_with_a_warning():
    from graddoctor.integrations.lightning import GradDoctorCallback

    g = torch.Generator().manual_seed(0)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(16, 4, generator=g),
                                                                      torch.randn(16, 1, generator=g)), batch_size=8)
    cb, module = GradDoctorCallback(), _NoOptimizer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        L.Trainer(max_steps=2, callbacks=[cb], logger=False, enable_checkpointing=False, enable_progress_bar=False,
                  enable_model_summary=False, accelerator="cpu").fit(module, data)
    assert module.batches == 2
    assert any(issubclass(w.category, gd.GradDoctorWarning) and "no optimizer" in str(w.message) for w in caught)
    assert cb.run is None and cb.data is None and cb.diagnosis is None
