"""HF Trainer: ``trainer.train(resume_from_checkpoint=True)`` with the same callback arguments (same store path),
as a requeued job does, stopped in ``on_train_begin`` with StoreError "already exists; pass overwrite=True", and
``overwrite=True`` deletes the records of the training being resumed. Now a resumed training (the Trainer restores
``state.global_step`` before ``on_train_begin``) whose store exists writes to ``<name>.resumed.sqlite``, with a
warning, and the first store is left as it was."""
from __future__ import annotations

import os

import pytest
import torch

tf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import graddoctor as gd  # noqa: E402


class _Data(torch.utils.data.Dataset):
    def __init__(self) -> None:
        self.ids = torch.randint(0, 32, (16, 8), generator=torch.Generator().manual_seed(1))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def _trainer(tmp, store: str, max_steps: int):  # noqa: ANN202
    from graddoctor.integrations.transformers import GradDoctorCallback

    torch.manual_seed(0)
    cfg = tf.GPT2Config(vocab_size=32, n_positions=8, n_embd=8, n_layer=1, n_head=2)
    args = tf.TrainingArguments(output_dir=str(tmp / "out"), per_device_train_batch_size=4, max_steps=max_steps,
                                save_steps=2, report_to="none", use_cpu=True, disable_tqdm=True, seed=0)
    cb = GradDoctorCallback(store=store)
    return tf.Trainer(model=tf.GPT2LMHeadModel(cfg), args=args, train_dataset=_Data(), callbacks=[cb]), cb


def test_resumed_training_with_the_same_store_path(tmp_path) -> None:
    path = tmp_path / "run.sqlite"
    first, _ = _trainer(tmp_path, str(path), 2)
    first.train()
    second, cb = _trainer(tmp_path, str(path), 4)
    with pytest.warns(gd.GradDoctorWarning, match="resumes from step 2"):
        second.train(resume_from_checkpoint=True)
    assert second.state.global_step == 4
    resumed = gd.load_run(tmp_path / "run.resumed.sqlite")
    assert resumed.n_steps == 2 and resumed.meta["status"] == "finished"
    assert gd.load_run(path).n_steps == 2  # the first training's records are untouched
