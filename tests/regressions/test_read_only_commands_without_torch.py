"""The read-only commands (stats, diagnose, report, live) and ``gd.load_run``/``gd.diagnose`` do not import
torch: they started ~2 s slower than needed (``import graddoctor`` imported the Monitor, and the diagnosis
imported activation kinds and ``memory_horizon`` from torch modules), and a store can be examined on a machine
without torch. Each command runs here with ``import torch`` made to fail."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

import graddoctor as gd

RUNNER = """
import sys
sys.modules["torch"] = None  # any 'import torch' now raises ImportError
from graddoctor.cli import main
sys.argv = ["graddoctor"] + sys.argv[1:]
try:
    main()
except SystemExit as e:
    sys.exit(e.code)
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:  # noqa: ANN001
    path = str(tmp_path_factory.mktemp("ro") / "run.sqlite")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=path) as run:
        for _ in range(12):
            loss = nn.functional.cross_entropy(model(torch.randn(16, 8)), torch.randint(0, 3, (16,)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return path


@pytest.mark.parametrize(("args", "code"), [(["stats"], 0), (["diagnose"], None), (["live", "--once"], 0),
                                            (["report", "-o", "{dir}/r.html"], 0)])
def test_command_runs_without_torch(store: str, args: list[str], code: int | None) -> None:
    import os

    argv = [a.format(dir=os.path.dirname(store)) for a in args]
    argv.insert(1, store)
    p = subprocess.run([sys.executable, "-c", RUNNER, *argv], capture_output=True, text=True, timeout=120)
    # diagnose: 0, or 1 when it finds a problem
    assert p.returncode in ((0, 1) if code is None else (code,)), p.stdout[-2000:] + p.stderr[-2000:]
    assert "sigmoid" in p.stdout or args[0] == "report", p.stdout[-2000:]
    assert "Traceback" not in p.stderr, p.stderr[-2000:]
    assert "ImportError" not in p.stderr + p.stdout


def test_library_reading_api_without_torch(store: str) -> None:
    code = ("import sys; sys.modules['torch'] = None\nimport graddoctor as gd\n"
            f"d = gd.load_run({store!r}); print(len(d.steps)); print(len(gd.diagnose(d).findings) >= 0)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split() == ["12", "True"]
