"""Lightning, manual optimization whose ``training_step`` returns nothing (the usual way: the loss goes to
``self.manual_backward``): no loss was recorded at all (every step NaN), so the loss-based findings and the
report's loss curve were missing. Now the loss of a step is the one last passed to ``manual_backward`` before the
watched optimizer stepped (``on_before_backward``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

L = pytest.importorskip("lightning")


class _Manual(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        self.losses: list[float] = []

    def training_step(self, batch, batch_idx):  # noqa: ANN001, ANN201
        opt = self.optimizers()
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        self.losses.append(float(loss))  # returns None

    def configure_optimizers(self):  # noqa: ANN201
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_manual_optimization_without_return_records_the_loss() -> None:
    from graddoctor.integrations.lightning import GradDoctorCallback

    g = torch.Generator().manual_seed(0)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4, generator=g),
                                                                      torch.randn(32, 1, generator=g)), batch_size=8)
    cb = GradDoctorCallback()
    module = _Manual()
    L.Trainer(max_steps=4, callbacks=[cb], logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, accelerator="cpu").fit(module, data)
    np.testing.assert_allclose(cb.data.step_stats["loss"], module.losses, rtol=1e-6)
