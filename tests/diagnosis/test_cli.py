"""`graddoctor check` and `graddoctor diagnose`: output, --json, exit codes."""
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch import nn

import graddoctor as gd
from graddoctor.cli import main

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "check_example.py")


def _run(*args):
    return CliRunner().invoke(main, list(args))


def test_check_example_finds_the_problem():
    r = _run("check", f"{EXAMPLE}:case")
    assert r.exit_code == 1, r.output
    assert "vanishing_gradient" in r.output and "saturating_activation" in r.output


def test_check_healthy_exit_zero():
    r = _run("check", f"{EXAMPLE}:case_healthy")
    assert r.exit_code == 0, r.output


def test_check_json_is_to_dict():
    r = _run("check", f"{EXAMPLE}:case", "--json")
    assert r.exit_code == 1
    d = json.loads(r.output)
    assert d["source"] == "check" and d["healthy"] is False
    assert d["findings"][0]["kind"] == "vanishing_gradient"
    assert set(d) == {"source", "healthy", "findings", "layers", "meta"}


def test_bad_usage_exit_two(tmp_path):
    assert _run("check", "missing_file.py:case").exit_code == 2
    assert "does not exist" in _run("check", "missing_file.py:case").output
    r = _run("check", f"{EXAMPLE}:nope")
    assert r.exit_code == 2 and "no function 'nope'" in r.output
    bad = tmp_path / "bad.py"
    bad.write_text("def case():\n    return 1, 2\n")
    r = _run("check", f"{bad}:case")
    assert r.exit_code == 2 and "must return (model, inputs, targets, loss_fn)" in r.output
    assert _run("check", EXAMPLE).exit_code == 2  # no ':function'


def test_check_accepts_a_case_object(tmp_path):
    f = tmp_path / "casefile.py"
    f.write_text(
        "import torch, torch.nn as nn, torch.nn.functional as F\n"
        "class C:\n"
        "    def __init__(self):\n"
        "        self.model_fn = lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))\n"
        "        self.train = (torch.randn(100, 4), torch.randint(0, 2, (100,)))\n"
        "        self.loss_fn = F.cross_entropy\n"
        "        self.batch_size = 16\n"
        "def case():\n    return C()\n")
    r = _run("check", f"{f}:case", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["meta"]["inputs"]["shape"] == [16, 4]


def test_diagnose_store(tmp_path):
    path = tmp_path / "run.sqlite"
    model = nn.Sequential(*[m for _ in range(5) for m in (nn.Linear(16, 16), nn.Sigmoid())], nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(32, 16), torch.randint(0, 2, (32,))
    with gd.watch(model, opt, store=str(path)) as run:
        for _ in range(5):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
    diag = gd.diagnose(str(path))
    assert diag.source == "run" and diag.by_kind("vanishing_gradient")
    r = _run("diagnose", str(path), "--json")
    assert r.exit_code == 1
    assert json.loads(r.output)["findings"][0]["kind"] == diag.findings[0].kind
    assert _run("diagnose", str(tmp_path / "nope.sqlite")).exit_code == 2


def test_check_case_with_dataloader_and_cuda_absent(tmp_path):
    f = tmp_path / "loaderfile.py"
    f.write_text(
        "import torch, torch.nn as nn, torch.nn.functional as F\n"
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "class C:\n"
        "    model_fn = staticmethod(lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))\n"
        "    train = DataLoader(TensorDataset(torch.randn(40, 4), torch.randint(0, 2, (40,))), batch_size=10)\n"
        "    loss_fn = staticmethod(F.cross_entropy)\n"
        "    batch_size = 10\n"
        "def case():\n    return C()\n")
    r = _run("check", f"{f}:case", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["meta"]["inputs"]["shape"] == [10, 4]
    if not torch.cuda.is_available():
        r = _run("check", f"{f}:case", "--device", "cuda")
        assert r.exit_code == 2 and "no CUDA device" in r.output
