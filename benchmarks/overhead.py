"""Per-step overhead of graddoctor.watch() against plain training, measured side by side.

Each workload trains three identical copies of a model: plain, under watch() with default settings, and
under watch(activations=False) (parameter statistics only). Rounds interleave the configurations in a
shuffled order; each round times a block of steps per configuration, and the ratio to plain is taken per
round. The table reports the median ratio and its spread (10th-90th percentile over rounds).

    python benchmarks/overhead.py [--rounds 30] [--steps 5] [--device cpu|cuda] [--write docs/performance.md]
"""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import torch
from torch import nn

import graddoctor as gd

Workload = tuple[Callable[[], nn.Module], Callable[[torch.device], tuple[torch.Tensor, torch.Tensor]]]


def mlp() -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(12):
        layers += [nn.Linear(256, 256), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(256, 10))


def cnn() -> nn.Module:
    def block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64),
                         nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


class Transformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(x).mean(dim=1))


WORKLOADS: dict[str, Workload] = {
    "mlp-12x256 sigmoid (batch 128)": (mlp, lambda d: (torch.randn(128, 256, device=d),
                                                        torch.randint(0, 10, (128,), device=d))),
    "cnn+bn 3x32x32 (batch 64)": (cnn, lambda d: (torch.randn(64, 3, 32, 32, device=d),
                                                   torch.randint(0, 10, (64,), device=d))),
    "transformer 4x128, seq 64 (batch 32)": (Transformer, lambda d: (torch.randn(32, 64, 128, device=d),
                                                                      torch.randint(0, 10, (32,), device=d))),
}


class MinimalHooks:
    """The cheapest hand-written hooks that take the per-step statistics of ``watch()``'s default (or, with
    ``outputs=False``, of ``activations=False``), as a user would write them with no bookkeeping at all: one
    ``sum`` of each parameterised layer's output in a forward hook, one norm of its output gradient in a tensor
    hook, one ``torch._foreach_norm`` over the gradients after ``optimizer.step``, stacked into a row of a
    device buffer that is copied to the host every 50 steps. No detail steps, no activation statistics, no
    update ratio, no store. It is the floor any hook-based recorder of these statistics pays on a workload,
    measured side by side with graddoctor so that the two can be compared."""

    FLUSH = 50

    def __init__(self, model: nn.Module, opt: torch.optim.Optimizer, outputs: bool = True) -> None:
        self.vals: list[torch.Tensor] = []
        self.sig: list[torch.Tensor] = []
        self.params = [p for p in model.parameters() if p.requires_grad]
        layers = [m for m in model.modules() if any(True for _ in m.parameters(recurse=False))]
        dev = self.params[0].device
        self.buf = torch.zeros(self.FLUSH, 2 * len(layers), device=dev)
        self.gbuf = torch.zeros(self.FLUSH, len(self.params), device=dev)
        self.row = 0
        self.host: list[torch.Tensor] = []
        if outputs:
            for m in layers:
                m.register_forward_hook(self._forward)
        opt.register_step_post_hook(self._step)

    def _signal(self, g: torch.Tensor) -> None:
        self.sig.append(torch.linalg.vector_norm(g, 2, dtype=torch.float32))

    def _forward(self, module: nn.Module, args: object, out: object) -> None:
        t = out if isinstance(out, torch.Tensor) else out[0] if isinstance(out, tuple) else None
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            self.vals.append(t.detach().sum(dtype=torch.float32))
            if t.requires_grad:
                t.register_hook(self._signal)

    def _step(self, opt: object, args: object, kwargs: object) -> None:
        r = self.row
        vals = self.vals + self.sig
        if vals:
            torch.stack(vals, out=self.buf[r, :len(vals)])
        self.vals.clear()
        self.sig.clear()
        torch.stack(torch._foreach_norm([p.grad for p in self.params if p.grad is not None]),
                    out=self.gbuf[r, :sum(p.grad is not None for p in self.params)])
        self.row += 1
        if self.row == self.FLUSH:  # one host sync per flush
            self.host.append(torch.cat([self.buf, self.gbuf], dim=1).cpu())
            self.host = self.host[-1:]
            self.row = 0


FLOOR = "hand-written minimal hooks: output sum, signal norm, gradient norms (the default's per-step floor)"
FLOOR_PARAMS = "hand-written minimal hooks: gradient norms only (the floor of activations=False)"
CONFIGS: dict[str, object] = {
    "plain": None, "watch (default)": {}, "watch (activations=False)": {"activations": False},
    "watch (every=10)": {"every": 10}, "watch (detail_every=1: everything every step)": {"detail_every": 1},
    FLOOR: lambda m, o: MinimalHooks(m, o), FLOOR_PARAMS: lambda m, o: MinimalHooks(m, o, outputs=False)}


def measure(name: str, rounds: int, steps: int, device: torch.device, sync_check: bool,
            clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    build, batch = WORKLOADS[name]
    torch.manual_seed(0)
    base = build().to(device)
    x, y = batch(device)
    setups = {}
    for cfg, kw in CONFIGS.items():
        m = build().to(device)
        m.load_state_dict(base.state_dict())
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        run = gd.watch(m, opt, **kw).start() if isinstance(kw, dict) else None
        hooks = kw(m, opt) if callable(kw) else None  # kept alive with the setup
        setups[cfg] = (m, opt, run, hooks)

    def block(cfg: str) -> float:
        m, opt, run, _ = setups[cfg]
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = clock()
        for _ in range(steps):
            loss = nn.functional.cross_entropy(m(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if run is not None:
                run.log_loss(loss)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return (clock() - t) / steps

    for cfg in CONFIGS:  # warm-up (and the first flush, which happens at step 0)
        block(cfg)
    if sync_check and device.type == "cuda":
        torch.cuda.set_sync_debug_mode("error")  # any sync between flushes raises
        try:
            for cfg in CONFIGS:
                run = setups[cfg][2]
                if run is not None:
                    run.flush_every = 10**9  # no flush inside the checked steps
                block(cfg)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    times: dict[str, list[float]] = {cfg: [] for cfg in CONFIGS}
    order = list(CONFIGS)
    for _ in range(rounds):
        random.shuffle(order)
        for cfg in order:
            times[cfg].append(block(cfg))
    for _, _, run, _ in setups.values():
        if run is not None:
            run.stop()
    return times


def summarise(times: dict[str, list[float]]) -> list[tuple[str, float, float, float, float]]:
    plain = np.array(times["plain"])
    rows = []
    for cfg, ts in times.items():
        r = np.array(ts) / plain
        rows.append((cfg, statistics.median(ts) * 1e3, float(np.median(r)), float(np.percentile(r, 10)),
                     float(np.percentile(r, 90))))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--steps", type=int, default=10,
                    help="steps per timed block (10: one detail step per block at the default detail_every)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--write", type=Path, default=None, help="write the table into this markdown file")
    ap.add_argument("--only", default=None, help="run only workloads whose name contains this text")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall: perf_counter; cpu: process CPU time (robust on a loaded machine; use --threads 1)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    lines = ["| workload | configuration | ms/step (median) | ratio to plain (median) | ratio p10-p90 |",
             "|---|---|---|---|---|"]
    for name in WORKLOADS:
        if args.only and args.only not in name:
            continue
        clock = time.perf_counter if args.clock == "wall" else time.process_time
        rows = summarise(measure(name, args.rounds, args.steps, device, sync_check=True, clock=clock))
        for cfg, ms, med, lo, hi in rows:
            lines.append(f"| {name} | {cfg} | {ms:.2f} | {med:.3f}x | {lo:.3f}-{hi:.3f} |")
        print("\n".join(lines[-len(rows):]), flush=True)
    cpu = platform.processor() or platform.machine()
    header = (f"Measured {date.today().isoformat()} on {args.device} ({cpu}, {torch.get_num_threads()} threads, "
              f"torch {torch.__version__}, Python {platform.python_version()}), {args.rounds} interleaved rounds "
              f"of {args.steps} steps per configuration, {args.clock} clock.")
    table = header + "\n\n" + "\n".join(lines) + "\n"
    print("\n" + table)
    if args.write:
        write_section(args.write, f"overhead-{args.device}", table)
    return 0


def write_section(path: Path, key: str, body: str) -> None:
    """Replace (or append) the block between <!-- key --> markers in a markdown file."""
    start, end = f"<!-- {key} -->", f"<!-- /{key} -->"
    text = path.read_text() if path.exists() else ""
    block = f"{start}\n{body}{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
