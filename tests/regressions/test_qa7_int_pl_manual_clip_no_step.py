"""Regression: under Lightning manual optimization, a batch that called ``self.clip_gradients`` but did not step
(a loop that clips every batch and steps every second one) left its pre-clip measurement in place, and the next
batch's step, taken without clipping, recorded that older gradient norm instead of its own. A measurement that no
step used is now dropped at the end of its batch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

L = pytest.importorskip("lightning")


class _ClipEveryBatchStepEverySecond(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        self.at_step: list[float] = []

    def training_step(self, batch, batch_idx):  # noqa: ANN001, ANN201
        opt = self.optimizers()
        x, y = batch
        self.manual_backward(torch.nn.functional.mse_loss(self.net(x), y))
        if batch_idx % 2 == 0:
            self.clip_gradients(opt, gradient_clip_val=1e6, gradient_clip_algorithm="norm")  # measures, no step
        else:
            self.at_step.append(float(torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(p.grad) for p in self.parameters()]))))
            opt.step()
            opt.zero_grad()

    def configure_optimizers(self):  # noqa: ANN201
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_a_clip_without_a_step_is_not_the_next_steps_measurement() -> None:
    from graddoctor.integrations.lightning import GradDoctorCallback

    g = torch.Generator().manual_seed(0)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(48, 4, generator=g),
                                                                      torch.randn(48, 1, generator=g)), batch_size=8)
    cb = GradDoctorCallback(diagnose=False)
    module = _ClipEveryBatchStepEverySecond()
    L.Trainer(max_epochs=1, callbacks=[cb], logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, accelerator="cpu").fit(module, data)
    assert len(module.at_step) == 3
    np.testing.assert_allclose(cb.data.step_stats["total_grad_norm"], module.at_step, rtol=1e-5)
