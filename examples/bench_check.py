"""Time gd.check on a ResNet-18-sized model (batch 32 x 3x64x64, CPU) and compare graddoctor's non-finite
origin search with torch.autograd.detect_anomaly. Numbers go to docs/detectors.md.

    python examples/bench_check.py [--threads N] [--repeats R]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.probe.function_watch import CheckObserver
from graddoctor.probe.model_map import map_model


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.down(x))


class ResNet18(nn.Module):
    """ResNet-18 (He et al. 2016, Table 1): 11.2 M parameters for 10 classes."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layers(self.stem(x)).mean(dim=(2, 3)))


def _time(fn, repeats: int) -> float:
    """Median CPU time of the process (robust to other jobs sharing the cores; one thread)."""
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        ts.append(time.process_time() - t0)
    return statistics.median(ts)


def small_ops_model() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Many small ops: a 30-layer width-64 tanh MLP on a batch of 16 (where per-op costs dominate)."""
    layers: list[nn.Module] = []
    for _ in range(30):
        layers += [nn.Linear(64, 64), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(64, 10)), torch.randn(16, 64), torch.randint(0, 10, (16,))


def compare(model: nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int) -> dict[str, float]:
    """CPU seconds of a plain forward+backward, gd.check, the origin search alone, and detect_anomaly."""
    mmap = map_model(model)

    def plain() -> None:
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()

    def check() -> None:
        gd.check(model, x, y, F.cross_entropy)

    def anomaly() -> None:
        model.zero_grad()
        with torch.autograd.detect_anomaly(check_nan=True):
            F.cross_entropy(model(x), y).backward()

    def origin_search() -> None:  # what check adds for the NaN origin: hooks on all modules + function mode
        model.zero_grad()
        with CheckObserver(model, mmap) as obs:
            F.cross_entropy(model(x), y).backward()
        obs.collect()

    return {"plain": _time(plain, repeats), "check": _time(check, repeats),
            "origin": _time(origin_search, repeats), "anomaly": _time(anomaly, repeats)}


def main() -> None:
    import warnings

    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = ResNet18()
    x, y = torch.randn(32, 3, 64, 64), torch.randint(0, 10, (32,))
    n = sum(p.numel() for p in model.parameters())
    rows = [(f"ResNet-18 ({n / 1e6:.1f} M params), batch 32x3x64x64", compare(model, x, y, args.repeats)),
            ("30-layer tanh MLP width 64, batch 16", compare(*small_ops_model(), args.repeats))]
    print(f"CPU seconds (process time, {args.threads} thread(s), median of {args.repeats})")
    print("| model | forward+backward | gd.check | origin search | detect_anomaly | anomaly / origin search |")
    print("|---|---|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t['plain']:.3f} | {t['check']:.3f} | {t['origin']:.3f} ({t['origin'] / t['plain']:.2f}x) "
              f"| {t['anomaly']:.3f} ({t['anomaly'] / t['plain']:.2f}x) | {t['anomaly'] / t['origin']:.2f}x |")


if __name__ == "__main__":
    main()
