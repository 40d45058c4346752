"""Lightning: a fit resumed from a checkpoint with the same script (same store path), e.g. a preempted cluster job
requeued with ``ckpt_path="last"``, stopped at ``on_fit_start`` with StoreError "already exists; pass
overwrite=True", and ``overwrite=True`` deletes the records of the very fit being resumed. Now a resumed fit whose
store exists writes next to it, to ``<name>.resumed.sqlite`` (``.resumed-2``... if taken), with a warning, and the
first fit's store is left as it was."""
from __future__ import annotations

import pytest
import torch

L = pytest.importorskip("lightning")

import graddoctor as gd  # noqa: E402

from .test_qa_int_pl_refit_overwrite import _Module  # noqa: E402


def test_resumed_fit_with_the_same_store_path_trains_and_keeps_the_first(tmp_path) -> None:
    from graddoctor.integrations.lightning import GradDoctorCallback

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(16, 4), torch.randn(16, 1)),
                                       batch_size=4)
    kw = dict(accelerator="cpu", devices=1, enable_progress_bar=False, enable_model_summary=False,
              enable_checkpointing=False, logger=False)
    path = tmp_path / "run.sqlite"
    first = L.Trainer(max_steps=4, callbacks=[GradDoctorCallback(store=str(path))], **kw)
    first.fit(_Module(), data)
    ckpt = tmp_path / "at4.ckpt"
    first.save_checkpoint(ckpt)
    for expected in ("run.resumed.sqlite", "run.resumed-2.sqlite"):  # requeued twice from the same checkpoint
        cb = GradDoctorCallback(store=str(path))
        second = L.Trainer(max_steps=6, callbacks=[cb], **kw)
        with pytest.warns(gd.GradDoctorWarning, match="resumes from"):
            second.fit(_Module(), data, ckpt_path=str(ckpt))
        assert second.global_step == 6
        resumed = gd.load_run(tmp_path / expected)
        assert resumed.n_steps == 2 and resumed.meta["status"] == "finished"
    assert gd.load_run(path).n_steps == 4  # the first fit's records are untouched
