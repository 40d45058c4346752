"""Cost of graddoctor under DDP, for docs/scaling.md (not collected by pytest).

    python -m torch.distributed.run --standalone --nproc_per_node=N tests/integrations/bench_scaling.py [LAYERS]

Trains a DDP MLP of LAYERS Linear(128, 128)+Tanh layers (gloo, CPU, one thread per rank) for STEPS steps
without and with graddoctor; rank 0 prints JSON: median step time of each, the time spent in flushes
(the one all-reduce and the host copy), and the bytes all-reduced per flush.
"""
from __future__ import annotations

import json
import statistics
import sys
import time

import torch
import torch.distributed as dist
from torch import nn

import graddoctor as gd

STEPS, FLUSH_EVERY, WIDTH, BATCH = 60, 20, 128, 32


def main() -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    layers = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    torch.manual_seed(0)
    mods: list[nn.Module] = []
    for _ in range(layers):
        mods += [nn.Linear(WIDTH, WIDTH), nn.Tanh()]
    model = nn.parallel.DistributedDataParallel(nn.Sequential(*mods))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(BATCH, WIDTH)
    out = {"world_size": dist.get_world_size(), "layers": layers}
    for mode in ("plain", "watch"):
        run = gd.watch(model, opt, flush_every=FLUSH_EVERY).start() if mode == "watch" else None
        flush_t: list[float] = []
        if run is not None:
            orig = run._drain

            def timed(orig=orig, flush_t=flush_t):
                t = time.perf_counter()
                r = orig()
                flush_t.append(time.perf_counter() - t)
                return r

            run._drain = timed
        times = []
        for _ in range(STEPS):
            dist.barrier()
            t = time.perf_counter()
            loss = model(x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t)
        if run is not None:
            run.stop()
            out["flushes"] = len(flush_t)
            out["flush_ms_median"] = 1e3 * statistics.median(flush_t)
            out["allreduce_bytes_per_flush"] = FLUSH_EVERY * run.n_layers * run._buf.shape[2] * 4 + FLUSH_EVERY * 4
        out[f"{mode}_step_ms_median"] = 1e3 * statistics.median(times[5:])
    out["overhead_pct"] = 100 * (out["watch_step_ms_median"] / out["plain_step_ms_median"] - 1)
    if dist.get_rank() == 0:
        print(json.dumps(out))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
