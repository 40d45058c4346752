"""DDP, FSDP2 and FSDP1 on 2 CPU processes (gloo) through torchrun: the statistics every rank records are the
global ones, identical to a single process on the same global batch, with one all-reduce per flush."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import graddoctor as gd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from dist_common import ACCUM, DETAIL_EVERY, STEPS, data, make_model, micro_batches  # noqa: E402

MODES = ("ddp", "ddp_nosync_step", "ddp_rnn", "ddp_preclip", "fsdp2", "fsdp1")
#: Statistics combined only approximately over ranks (per-rank estimates averaged; docs/scaling.md).
APPROXIMATE = {"act_dead", "act_p02", "act_p98"}
#: Relative tolerance: float32 sums in a different order (per rank, then over ranks).
RTOL = 2e-5


#: Max norm of the clipping in the ddp_preclip mode (active at every step).
CLIP = 1e-3
#: Statistics of gradients, which ddp_preclip records before clipping and the plain reference after it.
GRAD_STATS = ("weight_grad_norm", "bias_grad_norm", "grad_ratio")


def _reference(rnn: bool = False, clip: float | None = None) -> gd.Monitor:
    """One process on the global batch. With ``clip``, also the pre-clip norms, computed by hand."""
    model = make_model(rnn=rnn)
    pre_total, pre_layer = [], []
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    X, Y = data()
    with gd.watch(model, opt, flush_every=2, detail_every=DETAIL_EVERY) as run:
        for step in range(STEPS):
            for j, (x, y) in enumerate(micro_batches(X, Y, step)):
                loss = torch.nn.functional.mse_loss(model(x), y) / ACCUM
                loss.backward()
                if j == 0:
                    run.log_loss(loss.detach() * ACCUM)
            if clip is not None:
                pre_layer.append([float(torch.linalg.vector_norm(m.weight.grad)) for m in model
                                  if isinstance(m, torch.nn.Linear)])
                pre_total.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip)))
            opt.step()
            opt.zero_grad()
    run.pre_total, run.pre_layer = np.array(pre_total), np.array(pre_layer).T
    run.ref_params = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return run


def _launch(out: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parents[1] / "src")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(HERE / "dist_worker.py"), str(out), *MODES]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]


def _load(out: Path, mode: str, rank: int) -> tuple[dict, dict]:
    arrays = dict(np.load(out / mode / f"rank{rank}.npz"))
    info = json.loads((out / mode / f"rank{rank}.json").read_text())
    return arrays, info


def _check_global_statistics(out: Path, run: gd.Monitor, mode: str) -> None:
    ref = run.data
    ref.pre_total, ref.pre_layer = getattr(run, "pre_total", None), getattr(run, "pre_layer", None)
    for rank in (0, 1):
        arrays, info = _load(out, mode, rank)
        assert info["error"] is None
        assert info["layers"] == ref.layer_names  # wrapper prefixes stripped
        np.testing.assert_array_equal(arrays["steps"], ref.steps)  # no-sync micro-steps close no step
        for name, want in ref.layer_stats.items():
            if name in APPROXIMATE or (mode == "ddp_preclip" and name in GRAD_STATS):
                continue
            np.testing.assert_allclose(arrays[f"L_{name}"], want, rtol=RTOL, atol=1e-12, equal_nan=True,
                                       err_msg=f"{mode} rank {rank}: {name}")
        for name in ("loss", "total_grad_norm", "nonfinite_grads"):
            want = ref.pre_total if (mode == "ddp_preclip" and name == "total_grad_norm") else ref.step_stats[name]
            np.testing.assert_allclose(arrays[f"S_{name}"], want, rtol=RTOL, err_msg=f"{mode} rank {rank}: {name}")
        if mode == "ddp_preclip":  # gradients before clipping, against norms computed by hand
            np.testing.assert_allclose(arrays["L_weight_grad_norm"], ref.pre_layer, rtol=RTOL)
            assert np.all(ref.pre_total > CLIP)
        for layer, (_, values) in ref.series.get("time_signal", {}).items():  # RNN time profiles
            np.testing.assert_allclose(arrays[f"T_{layer}"], values, rtol=RTOL, err_msg=f"{mode}: {layer}")
        # graddoctor's only Python-level collective: one per flush, not one per layer or per step (plus,
        # for models with recurrent layers, one tiny MAX of the time-profile lengths).
        per_flush = 2 if mode == "ddp_rnn" else 1
        assert info["all_reduce_calls"] == per_flush * info["drains"] and info["drains"] >= 2, (mode, info)
        assert info["meta_distributed"]["world_size"] == 2
    stored = gd.load_run(out / mode / "run.sqlite")  # written by rank 0
    assert stored.meta["distributed"]["written_by_rank"] == 0
    assert stored.n_steps == STEPS


def test_two_processes_match_single_process(tmp_path: Path) -> None:
    """One torchrun launch (2 ranks, gloo) runs DDP, DDP with run.step() after no-sync micro-batches, FSDP2
    and FSDP1; each must record what one process records on the same global batch."""
    _launch(tmp_path)
    reference, rnn_reference, clip_reference = _reference(), _reference(rnn=True), _reference(clip=CLIP)
    ref = reference.data
    refs = {"ddp_rnn": rnn_reference, "ddp_preclip": clip_reference}
    assert rnn_reference.data.series["time_signal"]["gru"][1].shape[1] == 3  # a profile over the 3 time steps
    for mode in MODES:
        _check_global_statistics(tmp_path, refs.get(mode, reference), mode)
    # training unchanged by graddoctor
    for mode in ("ddp", "fsdp2"):
        got = torch.load(tmp_path / mode / "params.pt")
        torch.testing.assert_close(got, reference.ref_params, rtol=1e-5, atol=1e-6)
    # the 1/world**2 correction of squared signals is what makes them match
    arrays, _ = _load(tmp_path, "ddp", 0)
    assert np.all(np.abs(arrays["L_signal_norm"] / ref.layer_stats["signal_norm"] - 1) < 1e-4)
    # findings identical to the single-process run's
    for mode in MODES:
        want = [(f.kind, f.severity, tuple(f.layers)) for f in refs.get(mode, reference).diagnose().findings]
        got = gd.diagnose(str(tmp_path / mode / "run.sqlite"))
        assert [(f.kind, f.severity, tuple(f.layers)) for f in got.findings] == want, mode


def test_watch_outside_a_process_group_is_plain() -> None:
    from graddoctor.integrations.distributed import DistributedMonitor, is_distributed

    assert not is_distributed()
    run = gd.watch(make_model())
    assert type(run) is gd.Monitor
    with pytest.raises(gd.ModelError, match="init_process_group"):
        DistributedMonitor(make_model())
