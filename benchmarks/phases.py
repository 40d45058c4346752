"""Where watch() spends its time on the 12-layer MLP of `make bench`: forward, backward and optimizer step
measured separately, plain and watched copies interleaved step by step (CPU clock, one thread).

    python benchmarks/phases.py ['{"activations": False}'] [--steps 700]

Prints, per phase, the median CPU time of plain training and what watch() adds, for ordinary steps (detail
steps, every ``detail_every``-th recorded step, are reported separately as an amortised figure).
"""
from __future__ import annotations

import argparse
import ast
import random
import statistics
import time

import torch
from overhead import mlp  # type: ignore[import-not-found]
from torch import nn

import graddoctor as gd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kwargs", nargs="?", default="{}", help="watch() keyword arguments as a Python dict")
    ap.add_argument("--steps", type=int, default=700)
    a = ap.parse_args()
    kw = ast.literal_eval(a.kwargs)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, y = torch.randn(128, 256), torch.randint(0, 10, (128,))
    base = mlp()

    def make(watched: bool) -> tuple[nn.Module, torch.optim.Optimizer, gd.Monitor | None]:
        m = mlp()
        m.load_state_dict(base.state_dict())
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        return m, opt, (gd.watch(m, opt, **kw).start() if watched else None)

    setups = {"plain": make(False), "watch": make(True)}
    res: dict[str, dict[str, list[int]]] = {k: {"forward": [], "backward": [], "step": [], "detail": []}
                                            for k in setups}
    for i in range(a.steps):
        order = list(setups)
        random.shuffle(order)
        for k in order:
            m, opt, run = setups[k]
            detail = bool(run is not None and run._detail)
            opt.zero_grad(set_to_none=True)
            t0 = time.thread_time_ns()
            loss = nn.functional.cross_entropy(m(x), y)
            t1 = time.thread_time_ns()
            loss.backward()
            t2 = time.thread_time_ns()
            opt.step()
            t3 = time.thread_time_ns()
            if i < 50:
                continue
            if detail:
                res[k]["detail"].append(t3 - t0)
            else:
                res[k]["forward"].append(t1 - t0)
                res[k]["backward"].append(t2 - t1)
                res[k]["step"].append(t3 - t2)
    print(f"watch({a.kwargs}) on the 12x256 sigmoid MLP, batch 128, CPU clock, medians over {a.steps - 50} steps")
    for ph in ("forward", "backward", "step"):
        p, w = statistics.median(res["plain"][ph]), statistics.median(res["watch"][ph])
        print(f"  {ph:9s} plain {p / 1e3:8.0f} us   watch adds {(w - p) / 1e3:6.0f} us")
    ordinary = sum(statistics.median(res["watch"][ph]) for ph in ("forward", "backward", "step"))
    if res["watch"]["detail"]:
        extra = statistics.median(res["watch"]["detail"]) - ordinary
        n = len(res["watch"]["detail"]) / max(1, len(res["watch"]["detail"]) + len(res["watch"]["step"]))
        print(f"  detail steps ({100 * n:.0f} % of steps) add {extra / 1e3:.0f} us each over an ordinary watched "
              f"step: {n * extra / 1e3:.0f} us per step amortised")


if __name__ == "__main__":
    main()
