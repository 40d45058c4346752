"""Child process for the fault tests: trains a small watched model and reports, on a side file, every step
whose flush has returned (so the parent knows what the store must hold after it kills this process).

    python fault_child.py MODE STORE SIDE [STEPS] [FLUSH_EVERY]

MODE: ``run`` (train and flush often), ``hang-in-tx`` (hang inside the 3rd write transaction, after its rows
are inserted and before COMMIT), ``disk-full`` (lower RLIMIT_FSIZE mid-run so writes fail, then lift it).
"""
from __future__ import annotations

import os
import resource
import signal
import sys
import time
import warnings

import torch
from torch import nn

import graddoctor as gd
from graddoctor.store import sqlite as gd_sqlite


def note(side: str, text: str) -> None:
    with open(side, "a") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())


def model() -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(6):
        layers += [nn.Linear(32, 32), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(32, 4))


def main() -> None:
    mode, store, side = sys.argv[1], sys.argv[2], sys.argv[3]
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000
    flush_every = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x, y = torch.randn(16, 32), torch.randn(16, 4)
    if mode == "hang-in-tx":
        real_tx = gd_sqlite.SQLiteStore._tx
        writes = {"n": 0}

        def hanging_tx(self, fn):
            def fn_then_hang(con):
                fn(con)
                if fn.__qualname__.endswith("write.<locals>.do"):
                    writes["n"] += 1
                    if writes["n"] == 3:
                        note(side, "IN-TX")
                        time.sleep(600)
            real_tx(self, fn_then_hang)

        gd_sqlite.SQLiteStore._tx = hanging_tx
    caught: list[str] = []
    warnings.showwarning = lambda msg, *a, **k: caught.append(str(msg))
    with gd.watch(net, opt, store=store, flush_every=flush_every) as run:
        note(side, "STARTED")
        for step in range(steps):
            if mode == "disk-full" and step == 6:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                size = sum(os.path.getsize(store + s) for s in ("", "-wal") if os.path.exists(store + s))
                soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
                resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1, hard))  # no file may grow any more
                note(side, "FULL")
            if mode == "disk-full" and step == 14:
                resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
                note(side, "FREED")
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
            note(side, f"TRAINED {step} {loss.item()!r}")
            if step % 3 == 2:
                run.flush()
                if not (mode == "disk-full" and 6 <= step < 14):
                    note(side, f"FLUSHED {step}")
    for msg in caught:
        note(side, "WARNING " + msg.replace("\n", " "))
    note(side, f"ERROR {run.error!r}")
    note(side, "DONE")


if __name__ == "__main__":
    main()
