"""gd.diagnose(path) writes its findings back into the store; the CLI in a real subprocess: `graddoctor check
... --json` prints parseable JSON, `graddoctor diagnose RUN.sqlite` exits 0 on a healthy run and 1 on a
problem."""
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "check_example.py"


def _record(path, act, init_std=None, steps=4):
    torch.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(5) for m in (nn.Linear(16, 16), act())], nn.Linear(16, 2))
    if init_std is not None:
        for m in model:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=init_std)
                nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 16, generator=g), torch.randint(0, 2, (32,), generator=g)
    with gd.watch(model, opt, store=str(path)) as run:
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return path


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("stores")
    sick = _record(d / "sick.sqlite", nn.Sigmoid)  # deep sigmoid: vanishing
    healthy = _record(d / "healthy.sqlite", nn.ReLU, init_std=(2 / 16) ** 0.5)  # He init
    return sick, healthy


def _diagnose_findings(path):
    return [f for f in gd.load_run(path).findings if f.get("source") == "diagnose"]


def test_diagnose_saves_findings_into_the_store(stores, tmp_path):
    path = tmp_path / "run.sqlite"
    path.write_bytes(stores[0].read_bytes())
    assert _diagnose_findings(path) == []
    diag = gd.diagnose(str(path))
    assert diag.by_kind("vanishing_gradient") and diag.meta["saved"] is True
    saved = _diagnose_findings(path)
    assert [f["kind"] for f in saved] == [f.kind for f in diag.findings]
    assert {k: v for k, v in saved[0].items() if k != "source"} == json.loads(json.dumps(diag.findings[0].to_dict()))
    gd.diagnose(path)  # the same diagnosis again (a PathLike this time): not duplicated
    assert len(_diagnose_findings(path)) == len(diag.findings)


def test_diagnose_save_false_and_rundata_leave_the_store_alone(stores, tmp_path):
    path = tmp_path / "run.sqlite"
    path.write_bytes(stores[0].read_bytes())
    diag = gd.diagnose(str(path), save=False)
    assert diag.findings and "saved" not in diag.meta
    gd.diagnose(gd.load_run(path))
    assert _diagnose_findings(path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write a read-only file")
def test_diagnose_read_only_store_warns_and_still_returns(stores, tmp_path):
    path = tmp_path / "ro.sqlite"
    path.write_bytes(stores[0].read_bytes())
    path.chmod(stat.S_IRUSR)
    with pytest.warns(UserWarning, match="not saved"):
        diag = gd.diagnose(str(path))
    assert diag.by_kind("vanishing_gradient") and diag.meta["saved"] is False


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "graddoctor.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_cli_check_json_in_a_subprocess():
    r = _cli("check", f"{EXAMPLE}:case", "--json")
    assert r.returncode == 1, r.stderr
    d = json.loads(r.stdout)  # stdout is exactly the JSON document
    assert d["source"] == "check" and d["healthy"] is False
    v = [f for f in d["findings"] if f["kind"] == "vanishing_gradient"]
    assert v and v[0]["axis"] == "depth" and "saturating_activation" in v[0]["causes"]
    assert len(d["layers"]) == 6


def test_cli_diagnose_exit_codes_in_a_subprocess(stores):
    sick, healthy = stores
    r = _cli("diagnose", str(healthy), "--json", "--no-save")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["healthy"] is True
    r = _cli("diagnose", str(sick), "--no-save")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "vanishing_gradient" in r.stdout  # (exit code 2 for a missing store: test_cli.py)
