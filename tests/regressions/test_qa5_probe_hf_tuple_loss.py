"""HF Trainer: a model whose output is a tuple (``return_dict=False``, or a plain module returning
``(loss, logits)``) trains fine, the Trainer reading its loss as ``outputs[0]``, but the callback looked for the
loss only as ``outputs["loss"]``/``outputs.loss``: every recorded loss was NaN (and e226cac's warning then blamed
a compute_loss override that does not exist). The callback now reads the loss as the Trainer does, and records the
Trainer's own logged loss."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

tf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from .test_qa5_probe_hf_loss_outside_model import _Data  # noqa: E402


class _TupleNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))

    def forward(self, x, labels=None):
        out = self.net(x)
        return nn.functional.mse_loss(out, labels), out


def test_tuple_output_loss_is_recorded(tmp_path, recwarn) -> None:
    from graddoctor.errors import GradDoctorWarning
    from graddoctor.integrations.transformers import GradDoctorCallback

    args = tf.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8, num_train_epochs=1,
                                logging_steps=1, report_to="none", save_strategy="no", use_cpu=True,
                                disable_tqdm=True, seed=0)
    cb = GradDoctorCallback()
    trainer = tf.Trainer(model=_TupleNet(), args=args, train_dataset=_Data(), callbacks=[cb])
    trainer.train()
    hf_loss = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    got = cb.data.step_stats["loss"]
    assert len(got) == len(hf_loss) == 3
    np.testing.assert_allclose(got, hf_loss, rtol=1e-5)
    assert not [w for w in recwarn if issubclass(w.category, GradDoctorWarning)]
