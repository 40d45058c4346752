"""HF Trainer: after a ``train()`` that raised, ``cb.diagnosis`` must not be the diagnosis of an earlier run.

The Trainer has no exception callback, so the callback cannot diagnose a failed ``train()``; but it kept
``cb.diagnosis`` from the previous, finished ``train()`` (another run, e.g. the run before a hyperparameter change),
so ``print(cb.diagnosis.findings)`` after the crash showed that run's findings as this one's. ``cb.diagnosis`` is
now reset when a training begins (None until it ends); ``cb.data`` holds the failed run's records.
"""
from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from graddoctor.integrations.transformers import GradDoctorCallback  # noqa: E402


class _DS(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(i)
        return {"input_ids": torch.randint(0, 50, (8,), generator=g), "labels": torch.tensor(i % 2)}


class _Boom(transformers.TrainerCallback):
    armed = False

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
        if self.armed and state.global_step == 2:
            raise RuntimeError("boom")


def test_failed_train_has_no_diagnosis_of_the_previous_run(tmp_path):
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=32, max_position_embeddings=16, num_labels=2)
    model = transformers.BertForSequenceClassification(cfg)
    cb, boom = GradDoctorCallback(store=None), _Boom()
    args = transformers.TrainingArguments(str(tmp_path / "out"), report_to="none", per_device_train_batch_size=4,
                                          max_steps=3, save_strategy="no", use_cpu=True, disable_tqdm=True,
                                          logging_strategy="no")
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_DS(), callbacks=[cb, boom])
    trainer.train()
    assert cb.diagnosis is not None and cb.data.meta["status"] == "finished"
    boom.armed = True
    with pytest.raises(RuntimeError, match="boom"):
        trainer.train()
    assert cb.diagnosis is None
    assert list(cb.data.steps) == [0, 1]  # the failed run's records
