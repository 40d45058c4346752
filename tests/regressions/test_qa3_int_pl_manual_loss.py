"""Lightning, manual optimization with two optimizers: a step's loss is the loss of the batch where the watched
(first) optimizer stepped.

``on_before_optimizer_step`` fires for every optimizer; the callback took any of them as "a step ran in this
batch", so a batch where only the second optimizer stepped (a GAN's critic, n_critic > 1) wrote its loss over the
previous recorded step's loss: every recorded loss was the following batch's.
"""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

L = pytest.importorskip("lightning")

from graddoctor.integrations.lightning import GradDoctorCallback  # noqa: E402


class _TwoOpt(L.LightningModule):
    def __init__(self, seen: list[float]) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = nn.Linear(8, 16), nn.Linear(16, 3)
        self.automatic_optimization = False
        self.seen = seen

    def training_step(self, batch, i):  # noqa: ANN001
        x, y = batch
        o1, o2 = self.optimizers()
        loss = nn.functional.cross_entropy(self.b(torch.tanh(self.a(x))), y)
        if i % 2 == 0:  # the watched optimizer steps every other batch
            o1.zero_grad()
            self.manual_backward(loss)
            o1.step()
            self.seen.append(loss.item())
        loss2 = nn.functional.cross_entropy(self.b(torch.tanh(self.a(x))), y)
        o2.zero_grad()
        self.manual_backward(loss2)
        o2.step()
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.a.parameters(), lr=0.1), torch.optim.SGD(self.b.parameters(), lr=0.1)


def test_manual_two_optimizers_loss_of_watched_step():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    seen: list[float] = []
    cb = GradDoctorCallback(store=None, diagnose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = L.Trainer(callbacks=[cb], max_epochs=1, enable_progress_bar=False, enable_model_summary=False,
                            logger=False, enable_checkpointing=False)
        trainer.fit(_TwoOpt(seen), DataLoader(TensorDataset(x, y), batch_size=8))
    assert cb.data.steps.tolist() == [0, 1, 2, 3]
    assert cb.data.step_stats["loss"].tolist() == pytest.approx(seen, rel=1e-6)
