"""Run under ``torchrun --nproc_per_node=2``: train a small model with DDP/FSDP and graddoctor, and save
what every rank recorded. Used by test_distributed.py; the reference single-process run lives there.

Usage: python -m torch.distributed.run --nproc_per_node=2 dist_worker.py OUT_DIR MODE [MODE ...]
MODE: ddp | ddp_nosync_step | ddp_rnn | ddp_preclip | fsdp2 | fsdp1 (each writes OUT_DIR/MODE/; one launch runs them all)
"""
from __future__ import annotations

import contextlib
import json
import os
import sys

import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(__file__))
from dist_common import ACCUM, DETAIL_EVERY, STEPS, data, make_model, micro_batches  # noqa: E402

import graddoctor as gd  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    for mode in sys.argv[2:]:
        out = os.path.join(sys.argv[1], mode)
        os.makedirs(out, exist_ok=True)
        run_mode(mode, out)
        dist.barrier()
    dist.destroy_process_group()


def run_mode(mode: str, out: str) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    model = make_model(rnn=mode == "ddp_rnn")
    if mode.startswith("ddp"):
        from torch.nn.parallel import DistributedDataParallel as DDP
        net = DDP(model)
    elif mode == "fsdp2":
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard
        mesh = init_device_mesh("cpu", (world,))
        for layer in model:
            if any(True for _ in layer.parameters()):
                fully_shard(layer, mesh=mesh)
        net = fully_shard(model, mesh=mesh)
    elif mode == "fsdp1":
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        net = FSDP(model, use_orig_params=True, device_id=torch.device("cpu"))
    else:
        raise SystemExit(f"unknown mode {mode}")
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    calls = {"all_reduce": 0}
    real = dist.all_reduce

    def counting(*a, **k):
        calls["all_reduce"] += 1
        return real(*a, **k)

    dist.all_reduce = counting
    X, Y = data()
    store = os.path.join(out, "run.sqlite")
    with_opt = mode != "ddp_nosync_step"
    kwargs = dict(store=store, flush_every=2, overwrite=True, detail_every=DETAIL_EVERY)
    if mode == "ddp_preclip":  # the Monitor class the Lightning and transformers adapters use
        from graddoctor.integrations.core import watch_pre_clip
        run = watch_pre_clip(net, opt, **kwargs)
    else:
        run = gd.watch(net, opt if with_opt else None, **kwargs)
    drains = {"n": 0}
    orig_drain = run._drain

    def counting_drain():
        drains["n"] += 1
        return orig_drain()

    run._drain = counting_drain
    with run:
        for step in range(STEPS):
            for j, (x, y) in enumerate(micro_batches(X, Y, step)):
                x, y = x.chunk(world)[rank], y.chunk(world)[rank]
                sync = j == ACCUM - 1
                ctx = net.no_sync() if (mode.startswith("ddp") and not sync) else contextlib.nullcontext()
                with ctx:
                    loss = torch.nn.functional.mse_loss(net(x), y) / ACCUM
                    loss.backward()
                if j == 0:
                    run.log_loss(loss.detach() * ACCUM)
                if not with_opt and not sync:
                    run.step()  # after a no-sync micro-batch: must not close a step
            if mode == "ddp_preclip":
                run.capture_grads()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1e-3)  # CLIP in the test; after capture
            opt.step()
            if not with_opt:
                run.step()
            opt.zero_grad()
    dist.all_reduce = real
    data_ = run.data
    np.savez(os.path.join(out, f"rank{rank}.npz"), steps=data_.steps,
             **{f"L_{k}": v for k, v in data_.layer_stats.items()},
             **{f"S_{k}": v for k, v in data_.step_stats.items()},
             **{f"T_{layer}": v for layer, (_, v) in data_.series.get("time_signal", {}).items()})
    params = torch.cat([p.detach().full_tensor().reshape(-1) if hasattr(p, "full_tensor") else
                        p.detach().reshape(-1) for p in model.parameters()]) if mode != "fsdp1" else None
    info = {"rank": rank, "world": world, "all_reduce_calls": calls["all_reduce"], "drains": drains["n"],
            "layers": data_.layer_names, "meta_distributed": data_.meta.get("distributed"),
            "store_exists_rank": os.path.exists(store), "error": repr(run.error) if run.error else None}
    if params is not None and rank == 0:
        torch.save(params, os.path.join(out, "params.pt"))
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump(info, f)


if __name__ == "__main__":
    main()
