"""``meta=`` given to a trainer callback (a :func:`graddoctor.watch` argument, which ``**watch_kwargs`` takes).

Both callbacks passed their own ``meta={"trainer": ...}`` next to the user's ``**watch_kwargs``, so
``GradDoctorCallback(meta={"exp": "a"})`` stopped ``trainer.fit()`` / ``trainer.train()`` at its start with
``TypeError: ... got multiple values for keyword argument 'meta'``. The user's metadata is now stored, merged with
the trainer's name.
"""
from __future__ import annotations

import os

import pytest
import torch
from torch import nn


def test_lightning_callback_keeps_user_meta():
    L = pytest.importorskip("lightning")
    from graddoctor.integrations.lightning import GradDoctorCallback

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))

        def training_step(self, batch, batch_idx):
            x, y = batch
            return nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    ds = torch.utils.data.TensorDataset(torch.randn(16, 4), torch.randn(16, 1))
    cb = GradDoctorCallback(meta={"exp": "a"}, diagnose=False)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=2, callbacks=[cb], logger=False,
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.fit(Module(), torch.utils.data.DataLoader(ds, batch_size=8))
    assert list(cb.data.steps) == [0, 1]
    assert cb.data.meta["user"] == {"trainer": "lightning", "exp": "a"}
    assert cb.watch_kwargs == {"meta": {"exp": "a"}}  # (the callback may serve another fit)


def test_transformers_callback_keeps_user_meta(tmp_path):
    tf = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from graddoctor.integrations.transformers import GradDoctorCallback

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))

        def forward(self, x, labels):
            return {"loss": nn.functional.mse_loss(self.net(x), labels)}

    class Data(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 16

        def __getitem__(self, i):
            g = torch.Generator().manual_seed(i)
            return {"x": torch.randn(4, generator=g), "labels": torch.randn(1, generator=g)}

    torch.manual_seed(0)
    cb = GradDoctorCallback(meta={"exp": "b"}, diagnose=False)
    args = tf.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8, max_steps=2,
                                report_to="none", save_strategy="no", use_cpu=True, disable_tqdm=True)
    tf.Trainer(model=Net(), args=args, train_dataset=Data(), callbacks=[cb]).train()
    assert list(cb.data.steps) == [0, 1]
    assert cb.data.meta["user"] == {"trainer": "transformers", "exp": "b"}
    assert cb.watch_kwargs == {"meta": {"exp": "b"}}
