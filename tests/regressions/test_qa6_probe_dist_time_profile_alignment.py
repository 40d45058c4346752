"""Under torch.distributed, ranks whose RNN inputs have different lengths (each rank pads its batch to its own
longest sequence) had their time profiles padded at the *end* before the all-reduce, so the last time step of the
shorter rank, the one nearest the loss, was added to a middle step of the longer rank's, and the combined profile
(``series["time_signal"]``) was wrong at every position. Profiles are now aligned on their end (padded at the
start), as within a process and in the store. Two CPU processes (gloo) through torchrun."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

WORKER = textwrap.dedent('''
    import sys
    import numpy as np
    import torch
    import torch.distributed as dist
    import graddoctor as gd

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(3, 6, batch_first=True)
            self.out = torch.nn.Linear(6, 2)

        def forward(self, x):
            return self.out(self.rnn(x)[0][:, -1])

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = Net()
    g = torch.Generator().manual_seed(10 + rank)
    x, y = torch.randn(4, 5 + 2 * rank, 3, generator=g), torch.randn(4, 2, generator=g)
    xx = x.clone().requires_grad_()
    torch.nn.functional.mse_loss(model(xx), y).backward()
    local = (xx.grad.double() ** 2).sum(dim=(0, 2)).numpy()  # this rank's squares per time step (autograd)
    model.zero_grad()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, detail_every=1) as run:
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    assert run.error is None, run.error
    prof = run.data.series["time_signal"]["rnn"][1]
    np.savez(f"{sys.argv[1]}/rank{rank}.npz", local=local, prof=prof)
    dist.destroy_process_group()
''')


def test_profiles_of_different_lengths_align_on_the_end(tmp_path: Path) -> None:
    pytest.importorskip("torch.distributed")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
           str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    width = max(len(r["local"]) for r in ranks)  # 7
    total = np.zeros(width)
    for r in ranks:
        total[width - len(r["local"]):] += r["local"]
    want = np.sqrt(total / 2 ** 2)  # the global objective averages the 2 ranks' losses: signals / world_size
    for r in ranks:
        assert r["prof"].shape == (1, width)
        np.testing.assert_allclose(r["prof"][0], want, rtol=1e-5)
