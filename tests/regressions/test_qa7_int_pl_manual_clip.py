"""Lightning, manual optimization clipping with ``self.clip_gradients`` (Lightning's documented way): the
recorded gradient norms must be those before clipping, as under automatic optimization.

Under manual optimization the user clips in ``training_step`` before ``opt.step()``, and Lightning calls
``on_before_optimizer_step`` (where the callback measured) inside ``opt.step()``, i.e. after clipping: every recorded
norm was the clipped one (total 0.01 at every step, the clip value), hiding the size of the gradients. The callback
now also measures when ``clip_gradients`` is called for the watched optimizer, before it clips.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

L = pytest.importorskip("lightning")

CLIP = 0.01


class _Manual(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        self.pre_clip: list[float] = []

    def training_step(self, batch, batch_idx):  # noqa: ANN001, ANN201
        opt = self.optimizers()
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        opt.zero_grad()
        self.manual_backward(loss)
        self.pre_clip.append(float(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(p.grad) for p in self.parameters()]))))
        self.clip_gradients(opt, gradient_clip_val=CLIP, gradient_clip_algorithm="norm")
        opt.step()

    def configure_optimizers(self):  # noqa: ANN201
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_manual_clip_gradients_recorded_before_clipping() -> None:
    from graddoctor.integrations.lightning import GradDoctorCallback

    g = torch.Generator().manual_seed(0)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4, generator=g),
                                                                      torch.randn(32, 1, generator=g)), batch_size=8)
    cb = GradDoctorCallback(diagnose=False)
    module = _Manual()
    L.Trainer(max_steps=4, callbacks=[cb], logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, accelerator="cpu").fit(module, data)
    assert min(module.pre_clip) > 2 * CLIP  # clipping is active at every step
    np.testing.assert_allclose(cb.data.step_stats["total_grad_norm"], module.pre_clip, rtol=1e-5)
    assert "clip_gradients" not in module.__dict__  # the module is left as it was
