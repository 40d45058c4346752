"""A diagnosis that fails at the end of training must not fail the user's fit / train().

The Lightning callback re-raised a diagnosis error of a *finished* fit from ``on_fit_end``, and the HF callback let
any error but ImportError out of ``on_train_end``: after training had run to the end, ``trainer.fit()`` /
``trainer.train()`` raised, so the user's test, save or push after it never ran. Now it is a warning, the
diagnosis is None and the records stay available.
"""
from __future__ import annotations

import os

import pytest
import torch

import graddoctor as gd

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _broken_diagnose(self, **kwargs):  # noqa: ANN001, ANN003, ANN202
    raise RuntimeError("diagnosis bug")


def test_lightning_fit_survives_a_diagnosis_error(monkeypatch) -> None:
    L = pytest.importorskip("lightning")
    from graddoctor.integrations.lightning import GradDoctorCallback

    from .test_qa_int_pl_refit_overwrite import _Module

    monkeypatch.setattr(gd.Monitor, "diagnose", _broken_diagnose)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(16, 4), torch.randn(16, 1)),
                                       batch_size=4)
    cb = GradDoctorCallback()
    trainer = L.Trainer(max_steps=3, callbacks=[cb], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    with pytest.warns(gd.GradDoctorWarning, match="could not diagnose.*diagnosis bug"):
        trainer.fit(_Module(), data)
    assert trainer.global_step == 3 and cb.diagnosis is None and cb.data.n_steps == 3


def test_hf_train_survives_a_diagnosis_error(tmp_path, monkeypatch) -> None:
    tf = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from graddoctor.integrations.transformers import GradDoctorCallback

    from .test_qa4_int_hf_resume_same_store import _Data

    monkeypatch.setattr(gd.Monitor, "diagnose", _broken_diagnose)
    torch.manual_seed(0)
    cfg = tf.GPT2Config(vocab_size=32, n_positions=8, n_embd=8, n_layer=1, n_head=2)
    args = tf.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=4, max_steps=2,
                                save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True)
    cb = GradDoctorCallback()
    trainer = tf.Trainer(model=tf.GPT2LMHeadModel(cfg), args=args, train_dataset=_Data(), callbacks=[cb])
    with pytest.warns(gd.GradDoctorWarning, match="could not diagnose.*diagnosis bug"):
        trainer.train()
    assert trainer.state.global_step == 2 and cb.diagnosis is None and cb.data.n_steps == 2
