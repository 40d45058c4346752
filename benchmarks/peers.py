"""graddoctor against the tools people use today: per-step overhead, and what each detects.

Run it with ``make bench-peers``: the peers (wandb, tensorboard, lightning, cockpit-for-pytorch with
backpack-for-pytorch) are installed into a separate venv, ``.venv-peers``, and are never graddoctor
dependencies. A peer that is missing or fails on a workload gets a row that says so and why.

Overhead: the three workloads of ``make bench`` (benchmarks/overhead.py) plus an LSTM over 100 time steps.
Every configuration trains its own copy of the same model; rounds interleave the configurations in a
shuffled order, each round times a block of 10 consecutive steps per configuration (one full period of
the settings that do extra work every 10th step: graddoctor's detail steps, TensorBoard every 10), and the
ratio to plain training is taken per round, on CPU time (this process; robust to other load on the
machine) and on wall time. The table gives the median ratio and its spread (min-max over rounds).

Detection: three broken runs (vanishing, exploding, NaN) and what each tool reports (benchmarks/peers/).

    python benchmarks/peers.py [--rounds 5] [--steps 10] [--only mlp] [--skip-detection] [--write docs/performance.md]
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import platform
import random
import statistics
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "peers"), str(HERE)]
os.environ.setdefault("WANDB_MODE", "offline")  # nothing leaves the machine
os.environ.setdefault("WANDB_SILENT", "true")

from overhead import WORKLOADS, write_section  # noqa: E402  (the workloads of `make bench`)
from peer_detection import detection_table  # noqa: E402
from peer_tools import TOOLS, Plain, tool_name  # noqa: E402


class LSTMNet(nn.Module):
    """A 1-layer LSTM (input 32, hidden 128) over 100 time steps, classifying from the last state."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(32, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


ALL_WORKLOADS = {**WORKLOADS, "lstm 32->128, seq 100 (batch 32)": (
    LSTMNet, lambda d: (torch.randn(32, 100, 32, device=d), torch.randint(0, 10, (32,), device=d)))}


def measure(workload: str, rounds: int, steps: int, device: torch.device):
    """Per-step seconds of every configuration, per round; and the configurations that failed, with why."""
    build, batch = ALL_WORKLOADS[workload]
    torch.manual_seed(0)
    base = build().to(device)
    x, y = batch(device)
    tools: dict[str, Plain] = {}
    failed: dict[str, str] = {}
    for cls in TOOLS:
        m = build().to(device)
        m.load_state_dict(base.state_dict())
        tool = cls(m, torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9), F.cross_entropy)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tool.attach()
                for _ in range(1 if hasattr(tool, "max_rounds") else 2):  # warm-up, and proof that it runs here
                    tool.step(x, y)
            tools[tool_name(cls)] = tool
        except Exception as e:
            failed[tool_name(cls)] = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:140] if str(e) else ''}"

    def block(tool: Plain) -> tuple[float, float, float]:
        """Per step: wall time, CPU time of the whole process (every thread, also background threads that an
        earlier tool left running) and CPU time of the training thread alone."""
        n = min(steps, getattr(tool, "max_steps", steps))
        if device.type == "cuda":
            torch.cuda.synchronize()
        t, c, m = time.perf_counter(), time.process_time(), time.thread_time()
        for _ in range(n):
            tool.step(x, y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t) / n, (time.process_time() - c) / n, (time.thread_time() - m) / n

    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in tools}
    order = list(tools)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(rounds):
            random.shuffle(order)
            for name in order:
                if r >= getattr(tools[name], "max_rounds", rounds):  # very slow tools: fewer rounds
                    continue
                try:
                    times[name].append(block(tools[name]))
                except Exception as e:  # a tool that fails mid-run: recorded, dropped from later rounds
                    failed[name] = f"{type(e).__name__} after {tools[name].i} steps: {str(e)[:140]}"
                    order.remove(name)
                    times.pop(name, None)
                    break
    for tool in tools.values():
        try:
            tool.close()
        except Exception:
            pass
    return times, failed


def overhead_rows(workload: str, times: dict[str, list[tuple[float, float, float]]],
                  failed: dict[str, str]) -> list[str]:
    """One row per configuration: wall and CPU ms/step, and the ratios to plain training of the same round."""
    plain = np.array(times["plain"])
    rows = []
    for cls in TOOLS:
        name = tool_name(cls)
        if name in failed:
            rows.append(f"| {workload} | {name} | - | - | fails: {failed[name].replace('|', '/')} | - | - | - |")
            continue
        ts = np.array(times[name])
        wall, cpu = ts[:, 0] / plain[: len(ts), 0], ts[:, 1] / plain[: len(ts), 1]
        main = ts[:, 2] / plain[: len(ts), 2]
        rows.append(f"| {workload} | {name} | {statistics.median(ts[:, 0]) * 1e3:.1f} | "
                    f"{statistics.median(ts[:, 1]) * 1e3:.1f} | {np.median(cpu):.2f}x ({cpu.min():.2f}-{cpu.max():.2f}) | "
                    f"{statistics.median(ts[:, 2]) * 1e3:.1f} | {np.median(main):.2f}x ({main.min():.2f}-{main.max():.2f}) | "
                    f"{np.median(wall):.2f}x |")
    return rows


def summary_table(results: dict[str, tuple[dict[str, list[tuple[float, float, float]]], dict[str, str]]]) -> list[str]:
    """Configurations x workloads: CPU-time ratio to plain, median (min-max) over rounds."""
    def cell(times: dict[str, list[tuple[float, float, float]]], failed: dict[str, str], name: str) -> str:
        if name in failed:
            return "fails"
        ts, plain = np.array(times[name]), np.array(times["plain"])
        r = ts[:, 1] / plain[: len(ts), 1]
        return f"{np.median(r):.2f}x ({r.min():.2f}-{r.max():.2f})"

    heads = [f"{w} (plain: {statistics.median(np.array(t['plain'])[:, 1]) * 1e3:.1f} ms CPU/step)"
             for w, (t, _) in results.items()]
    lines = ["| configuration | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for cls in TOOLS[1:]:
        name = tool_name(cls)
        lines.append(f"| {name} | " + " | ".join(cell(t, f, name) for t, f in results.values()) + " |")
    return lines


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> str:
    out = []
    for dist in ("torch", "graddoctor", "wandb", "tensorboard", "lightning", "cockpit-for-pytorch",
                 "backpack-for-pytorch"):
        try:
            out.append(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            out.append(f"{dist} not installed")
    return ", ".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10,
                    help="steps per block; 10 makes every block hold one period of the every-10-steps settings")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--only", default=None, help="run only workloads whose name contains this text")
    ap.add_argument("--skip-detection", action="store_true")
    ap.add_argument("--write", type=Path, default=None, help="write both tables into this markdown file")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    started = time.time()
    lines = ["| workload | configuration | wall ms/step | CPU ms/step | CPU-time ratio to plain: median (min-max) "
             "| training-thread CPU ms/step | training-thread CPU ratio: median (min-max) | wall ratio (median) |",
             "|---|---|---|---|---|---|---|---|"]
    results = {}
    for workload in ALL_WORKLOADS:
        if args.only and args.only not in workload:
            continue
        times, failed = measure(workload, args.rounds, args.steps, device)
        results[workload] = (times, failed)
        rows = overhead_rows(workload, times, failed)
        lines += rows
        print("\n".join(rows), flush=True)
    load = os.getloadavg()
    header = (f"Measured {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {args.device} "
              f"({cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} "
              f"torch threads), Python {platform.python_version()}; {versions()}. {args.rounds} interleaved "
              f"rounds of {args.steps} steps per configuration, SGD with momentum, memory store for graddoctor. "
              f"Load average during the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
              f"({time.time() - started:.0f} s).")
    fails = [f"- {w}, {name}: {why}" for w, (_, f) in results.items() for name, why in f.items()]
    overhead = (header + "\n\n" + "\n".join(summary_table(results)) + "\n\nFailures:\n\n"
                + ("\n".join(fails) or "none") + "\n\nDetail (wall and CPU time per step):\n\n"
                + "\n".join(lines) + "\n")
    print("\n" + overhead)
    detection = ""
    if not args.skip_detection:
        det = detection_table(TOOLS, tool_name)
        detection = ("What each tool reports on three broken runs (30 steps each, CPU). Flags: L names the layer, "
                     "S the step, C a cause; '-' means no alarm at all.\n\n" + "\n".join(det) + "\n")
        print("\n" + detection)
    if args.write:
        write_section(args.write, f"peers-overhead-{args.device}", overhead)
        if detection:
            write_section(args.write, "peers-detection", detection)
    return 0


if __name__ == "__main__":
    sys.exit(main())
