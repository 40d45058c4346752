"""HF Trainer: the callback reads each step's loss from the model's output (no callback sees the Trainer's loss), so
a Trainer subclass whose ``compute_loss`` computes the loss outside the model (class weights, distillation, a
contrastive loss: a common pattern) left every recorded loss NaN, silently, while docs/integrations.md said the
recorded loss is the Trainer's own; the diagnosis then had no loss to read (a NaN or unstable loss went unseen).
Now the first optimizer step without any loss in the model's outputs warns once, saying why and what to do; a
model that returns its loss records it, without the warning."""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from graddoctor.errors import GradDoctorWarning

tf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class _Net(nn.Module):
    def __init__(self, with_loss: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
        self.with_loss = with_loss

    def forward(self, x, labels=None):
        out = self.net(x)
        return {"loss": nn.functional.mse_loss(out, labels), "logits": out} if self.with_loss else {"logits": out}


class _Data(torch.utils.data.Dataset):
    def __init__(self) -> None:
        g = torch.Generator().manual_seed(1)
        self.x, self.y = torch.randn(24, 6, generator=g), torch.randn(24, 2, generator=g)

    def __len__(self) -> int:
        return 24

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "labels": self.y[i]}


def _trainer_class():
    class OwnLoss(tf.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            out = model(**inputs)
            loss = nn.functional.mse_loss(out["logits"], labels) * 2.0  # a weighted loss of the user's own
            return (loss, out) if return_outputs else loss

    return OwnLoss


@pytest.mark.parametrize("own_loss", [True, False])
def test_loss_outside_the_model_is_warned_about(tmp_path, own_loss: bool) -> None:
    from graddoctor.integrations.transformers import GradDoctorCallback

    args = tf.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8, num_train_epochs=2,
                                report_to="none", save_strategy="no", use_cpu=True, disable_tqdm=True, seed=0)
    cb = GradDoctorCallback()
    cls = _trainer_class() if own_loss else tf.Trainer
    trainer = cls(model=_Net(with_loss=not own_loss), args=args, train_dataset=_Data(), callbacks=[cb])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        trainer.train()
    ours = [str(w.message) for w in record if issubclass(w.category, GradDoctorWarning)]
    loss = cb.data.step_stats["loss"]
    assert len(loss) == 6
    if own_loss:
        assert len(ours) == 1 and "compute_loss" in ours[0]
        assert np.isnan(loss).all()
    else:
        assert ours == []
        assert np.isfinite(loss).all()
