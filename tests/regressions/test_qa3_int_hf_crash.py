"""HF Trainer: a train() that raises must not leave graddoctor's run open and its hooks on the model.

The Trainer has no exception callback, so ``on_train_end`` never ran after a failed ``train()``: the Monitor
stayed started, its module hooks stayed on the model and went on recording every later forward/backward into
the dead run (seen: the crashed run's store gained the next train()'s steps), and the post-accumulate-grad hooks
stayed registered. The next ``on_train_begin`` now closes such a run as failed first.
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
    armed = True

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
        if self.armed and state.global_step == 2:
            raise RuntimeError("boom")


def _hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_failed_train_is_closed_at_next_train(tmp_path):
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=32, max_position_embeddings=16, num_labels=2)
    model = transformers.BertForSequenceClassification(cfg)
    baseline = _hooks(model)
    cb, boom = GradDoctorCallback(store=None, diagnose=False), _Boom()
    args = transformers.TrainingArguments(str(tmp_path / "out"), report_to="none", per_device_train_batch_size=4,
                                          num_train_epochs=1, save_strategy="no", use_cpu=True, disable_tqdm=True,
                                          logging_strategy="no")
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_DS(), callbacks=[cb, boom])
    with pytest.raises(RuntimeError, match="boom"):
        trainer.train()
    crashed = cb.run
    crashed_steps = crashed.data.steps.tolist()
    boom.armed = False
    trainer.train()
    assert crashed._stopped
    assert crashed.data.steps.tolist() == crashed_steps  # recorded nothing of the second train()
    assert cb.data.steps.tolist() == [0, 1, 2, 3]
    assert _hooks(model) == baseline
