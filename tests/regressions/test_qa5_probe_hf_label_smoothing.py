"""HF Trainer with ``label_smoothing_factor`` (or ``compute_loss_func``): the Trainer takes the labels out of the
model's inputs and computes the loss itself, so the model's output holds none and the callback records no loss.
e226cac's warning said so but guessed only "a Trainer subclass whose compute_loss computes it outside the model",
which sent a user of ``label_smoothing_factor=0.1`` (a stock TrainingArguments option) looking for an override
they never wrote. The warning now names the three ways the Trainer computes the loss outside the model (checked
here with ``compute_loss_func``; label smoothing needs a model with a ``config``)."""
from __future__ import annotations

import os

import pytest

tf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from .test_qa5_probe_hf_loss_outside_model import _Data, _Net  # noqa: E402


def test_compute_loss_func_warning_names_it(tmp_path) -> None:
    from graddoctor.errors import GradDoctorWarning
    from graddoctor.integrations.transformers import GradDoctorCallback

    args = tf.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8, num_train_epochs=1,
                                report_to="none", save_strategy="no", use_cpu=True,
                                disable_tqdm=True, seed=0)
    cb = GradDoctorCallback()
    trainer = tf.Trainer(model=_Net(with_loss=False), args=args, train_dataset=_Data(), callbacks=[cb],
                         compute_loss_func=lambda out, labels, num_items_in_batch=None: (
                             (out["logits"] - labels).pow(2).mean()))
    with pytest.warns(GradDoctorWarning, match="label_smoothing_factor, compute_loss_func"):
        trainer.train()
