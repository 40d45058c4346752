"""Memory of a watched run, for docs/performance.md and docs/scaling.md (not collected by pytest).

    python tests/integrations/bench_memory.py MODEL [update_sample]     MODEL: deep1000 | deep1000w256 | wide100m

Prints JSON: parameter bytes, the bytes of every tensor the Monitor keeps alive (by role; views of the
model's own parameters are not counted), and the peak resident memory (ru_maxrss) of the training
process with and without graddoctor (each in a fresh subprocess).
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys

import torch
from torch import nn


def build(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name in ("deep1000", "deep1000w256"):  # 1,000 Linear layers (with Tanh): 4.2 M or 65.8 M parameters
        width = 256 if name.endswith("w256") else 64
        mods: list[nn.Module] = []
        for _ in range(1000):
            mods += [nn.Linear(width, width), nn.Tanh()]
        return nn.Sequential(*mods)
    if name == "wide100m":  # 10 Linear(3162, 3162) + ReLU: 100 M parameters
        mods = []
        for _ in range(10):
            mods += [nn.Linear(3162, 3162), nn.ReLU()]
        return nn.Sequential(*mods)
    raise SystemExit(f"unknown model {name}")


def held_tensors(run, model: nn.Module) -> dict[str, int]:
    """Bytes of distinct tensor storages reachable from the Monitor, excluding the model's parameters."""
    param_ptrs = {p.untyped_storage().data_ptr() for p in model.parameters()}
    param_ptrs |= {p.grad.untyped_storage().data_ptr() for p in model.parameters() if p.grad is not None}
    seen: set[int] = set()
    out: dict[str, int] = {}

    def visit(obj, role: str, depth: int = 0) -> None:
        if depth > 4:
            return
        if isinstance(obj, torch.Tensor):
            ptr = obj.untyped_storage().data_ptr()
            if ptr in seen or ptr in param_ptrs or ptr == 0:
                return
            seen.add(ptr)
            out[role] = out.get(role, 0) + obj.untyped_storage().nbytes()
        elif isinstance(obj, dict):
            for v in obj.values():
                visit(v, role, depth + 1)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                visit(v, role, depth + 1)

    for name, value in vars(run).items():
        if name in ("model", "map", "optimizer", "store"):
            continue
        if name == "_params":
            for k, v in vars(value).items():
                visit(v, f"_params.{k}")
        else:
            visit(value, name)
    return out


def train(name: str, watch: bool, update_sample: int | None, steps: int = 3) -> dict:
    import graddoctor as gd

    torch.set_num_threads(1)
    model = build(name)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    d_in = model[0].in_features
    x = torch.randn(8, d_in)
    run = gd.watch(model, opt, update_sample=update_sample, detail_every=1).start() if watch else None
    for _ in range(steps):
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    held = held_tensors(run, model) if run else {}
    if run:
        run.stop()
    return {"maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "held": held,
            "param_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
            "n_layers": len([m for m in model if isinstance(m, nn.Linear)])}


def main() -> None:
    name = sys.argv[1]
    us = None if len(sys.argv) > 2 and sys.argv[2] == "none" else int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    if len(sys.argv) > 3:  # child process
        print(json.dumps(train(name, sys.argv[3] == "watch", us)))
        return
    res = {}
    for mode in ("plain", "watch"):
        p = subprocess.run([sys.executable, __file__, name, str(us).lower(), mode], capture_output=True, text=True,
                           check=True)
        res[mode] = json.loads(p.stdout.strip().splitlines()[-1])
    held = res["watch"]["held"]
    stats = sum(held.get(k, 0) for k in ("_buf", "_loss", "_gn", "_slots"))
    other = sum(held.values()) - stats
    pb = res["watch"]["param_bytes"]
    print(json.dumps({
        "model": name, "update_sample": us, "n_layers": res["watch"]["n_layers"], "param_MB": pb / 1e6,
        "stat_buffers_MB": stats / 1e6, "other_held_MB": other / 1e6, "other_held_pct_of_params": 100 * other / pb,
        "held_by_role_MB": {k: round(v / 1e6, 3) for k, v in sorted(held.items(), key=lambda kv: -kv[1])[:6]},
        "maxrss_plain_MB": res["plain"]["maxrss_bytes"] / 1e6, "maxrss_watch_MB": res["watch"]["maxrss_bytes"] / 1e6,
        "maxrss_delta_pct_of_params": 100 * (res["watch"]["maxrss_bytes"] - res["plain"]["maxrss_bytes"]) / pb,
    }, indent=1))


if __name__ == "__main__":
    main()
