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
from dist_common import ACCUM, STEPS, data, make_model, micro_batches  # noqa: E402

MODES = ("ddp", "ddp_nosync_step", "fsdp2", "fsdp1")
#: Statistics combined only approximately over ranks (per-rank estimates averaged; docs/scaling.md).
APPROXIMATE = {"act_dead", "act_p02", "act_p98"}
#: Relative tolerance: float32 sums in a different order (per rank, then over ranks).
RTOL = 2e-5


def _reference() -> gd.RunData:
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    X, Y = data()
    with gd.watch(model, opt, flush_every=2) as run:
        for step in range(STEPS):
            for j, (x, y) in enumerate(micro_batches(X, Y, step)):
                loss = torch.nn.functional.mse_loss(model(x), y) / ACCUM
                loss.backward()
                if j == 0:
                    run.log_loss(loss.detach() * ACCUM)
            opt.step()
            opt.zero_grad()
    run.ref_params = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return run


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parents[1] / "src")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(HERE / "dist_worker.py"), str(out), *MODES]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return out


@pytest.fixture(scope="module")
def reference() -> gd.Monitor:
    return _reference()


def _load(out: Path, mode: str, rank: int) -> tuple[dict, dict]:
    arrays = dict(np.load(out / mode / f"rank{rank}.npz"))
    info = json.loads((out / mode / f"rank{rank}.json").read_text())
    return arrays, info


@pytest.mark.parametrize("mode", MODES)
def test_global_statistics_match_single_process(launched: Path, reference: gd.Monitor, mode: str) -> None:
    ref = reference.data
    for rank in (0, 1):
        arrays, info = _load(launched, mode, rank)
        assert info["error"] is None
        assert info["layers"] == ref.layer_names  # wrapper prefixes stripped
        np.testing.assert_array_equal(arrays["steps"], ref.steps)
        for name, want in ref.layer_stats.items():
            got = arrays[f"L_{name}"]
            if name in APPROXIMATE:
                continue
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12, equal_nan=True,
                                       err_msg=f"{mode} rank {rank}: {name}")
        for name in ("loss", "total_grad_norm", "nonfinite_grads"):
            np.testing.assert_allclose(arrays[f"S_{name}"], ref.step_stats[name], rtol=RTOL,
                                       err_msg=f"{mode} rank {rank}: {name}")


@pytest.mark.parametrize("mode", MODES)
def test_one_all_reduce_per_flush_and_rank0_writes(launched: Path, mode: str) -> None:
    for rank in (0, 1):
        _, info = _load(launched, mode, rank)
        # graddoctor's only Python-level collective: one per flush, not one per layer or per step.
        assert info["all_reduce_calls"] == info["drains"] >= 2
        assert info["meta_distributed"]["world_size"] == 2
    stored = gd.load_run(launched / mode / "run.sqlite")
    assert stored.meta["distributed"]["written_by_rank"] == 0
    assert stored.n_steps == STEPS


@pytest.mark.parametrize("mode", ("ddp", "fsdp2"))
def test_training_unchanged(launched: Path, reference: gd.Monitor, mode: str) -> None:
    got = torch.load(launched / mode / "params.pt")
    torch.testing.assert_close(got, reference.ref_params, rtol=1e-5, atol=1e-6)


def test_signal_scaling_is_needed(launched: Path, reference: gd.Monitor) -> None:
    """Without the 1/world**2 correction the signal norms would be twice the single-process ones."""
    arrays, _ = _load(launched, "ddp", 0)
    ref = reference.data.layer_stats["signal_norm"]
    assert np.all(np.abs(arrays["L_signal_norm"] / ref - 1) < 1e-4)
    assert not np.allclose(arrays["L_signal_norm"] * 2, ref)


def test_findings_match_single_process(launched: Path, reference: gd.Monitor) -> None:
    diagnosis = pytest.importorskip("graddoctor.diagnosis")
    if not hasattr(diagnosis, "diagnose_run"):
        pytest.skip("graddoctor.diagnosis.diagnose_run not built yet")
    want = [f.to_dict() if hasattr(f, "to_dict") else f for f in reference.diagnose().findings]
    for mode in MODES:
        got = gd.diagnose(str(launched / mode / "run.sqlite"))
        kinds = [(f.kind, f.severity, tuple(f.layers)) for f in got.findings]
        assert kinds == [(f["kind"] if isinstance(f, dict) else f.kind,
                          f["severity"] if isinstance(f, dict) else f.severity,
                          tuple(f["layers"] if isinstance(f, dict) else f.layers)) for f in want], mode


def test_watch_outside_a_process_group_is_plain() -> None:
    from graddoctor.integrations.distributed import DistributedMonitor, is_distributed

    assert not is_distributed()
    run = gd.watch(make_model())
    assert type(run) is gd.Monitor
    with pytest.raises(gd.ModelError, match="init_process_group"):
        DistributedMonitor(make_model())
