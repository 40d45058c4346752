"""The recipe audit (what a run store cannot see) and the `graddoctor repair` / `graddoctor demo` commands."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from graddoctor.cli import main
from graddoctor.repair.audit import audit

from . import repair_cases as C


def test_audit_finds_nan_inputs() -> None:
    (f,) = audit(C.nan_inputs())
    assert f.kind == "non_finite" and f.origin == "<input>" and f.remedies == ["sanitize_inputs"]
    assert f.causes == ["non_finite_inputs"]


def test_audit_finds_unsafe_op_at_init() -> None:
    (f,) = audit(C.unsafe_sqrt())
    assert f.causes == ["unsafe_op"] and f.remedies[0] == "guard_unsafe_op"


def test_audit_quiet_on_healthy_recipe() -> None:
    assert audit(C.digits_case(lambda: C.mlp(2, 16, nn.ReLU))) == []


USER_FILE = """
import torch, torch.nn as nn
import graddoctor as gd
from sklearn.datasets import load_digits

def build():
    layers = [nn.Linear(64, 32), nn.Sigmoid()]
    for _ in range(5):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(32, 10))

def case():
    d = load_digits()
    X = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    return gd.Case(model_fn=build, train=(X[:1400], y[:1400]), val=(X[1400:], y[1400:]), steps=120,
                   batch_size=32, optimizer_fn=lambda p: torch.optim.SGD(p, lr=0.1))

def not_a_case():
    return 3
"""


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    p = tmp_path / "my_net.py"
    p.write_text(textwrap.dedent(USER_FILE))
    return p


def test_cli_repair_json_and_save(user_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep" / "repaired.pt"
    res = CliRunner().invoke(main, ["repair", f"{user_file}:case", "--seeds", "1", "--remedy", "use_relu_family",
                                    "--json", "--save", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["best"]["remedy"] == "use_relu_family" and d["baseline"]["remedy"] is None
    assert d["saved"] == [str(out), str(out.with_suffix(".json")), str(out.with_suffix(".txt"))]
    state = torch.load(out, weights_only=True)
    assert set(state) == {f"{i}.{w}" for i in range(0, 13, 2) for w in ("weight", "bias")}
    desc = json.loads(out.with_suffix(".json").read_text())
    assert "ReLU" in desc["model"] and desc["changes"]


def test_cli_repair_table(user_file: Path) -> None:
    res = CliRunner().invoke(main, ["repair", f"{user_file}:case", "--seeds", "1", "--remedy", "use_relu_family",
                                    "--remedy", "use_lstm_or_gru"])
    assert res.exit_code == 0, res.output
    assert "baseline" in res.output and "WINNER" in res.output and "not tried" in res.output


@pytest.mark.parametrize("target,msg", [("nope.py:case", "not a Python file"), ("{f}", "FILE.py:FUNCTION"),
                                        ("{f}:missing", "no function 'missing'"),
                                        ("{f}:not_a_case", "must return a graddoctor.Case")])
def test_cli_repair_bad_usage_exits_2(user_file: Path, target: str, msg: str) -> None:
    res = CliRunner().invoke(main, ["repair", target.format(f=user_file)])
    assert res.exit_code == 2 and msg in res.output


def test_cli_repair_unknown_remedy(user_file: Path) -> None:
    res = CliRunner().invoke(main, ["repair", f"{user_file}:case", "--remedy", "magic"])
    assert res.exit_code == 2 and "can apply" in res.output


def test_cli_help_says_only_the_named_file_is_imported() -> None:
    res = CliRunner().invoke(main, ["repair", "--help"])
    assert res.exit_code == 0 and "Only the file you name is imported" in res.output


@pytest.mark.slow
def test_demo_runs_the_full_story(tmp_path: Path) -> None:
    from rich.console import Console

    from graddoctor.demo import run_demo

    console = Console(record=True, width=100)
    r = run_demo(console=console, steps=300, seeds=1, budget_s=20, out_dir=tmp_path)
    assert r.signal_last / r.signal_first > 50  # the first layer's backward signal is far below the last's
    assert any(f.kind == "vanishing_gradient" for f in r.diagnosis.problems)
    assert r.repair.best is not None and r.repair.best.metric > r.repair.baseline.metric + 0.3
    assert (tmp_path / "demo.sqlite").exists()


class ExpHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.a(x))


def test_audit_suspects_unsafe_op_only_after_a_nan_run() -> None:
    from graddoctor import Finding

    case = C.digits_case(ExpHead)
    assert audit(case) == [] and audit(case, []) == []
    nan = Finding(kind="non_finite", severity="critical", origin="a")
    (f,) = audit(case, [nan])
    assert f.causes == ["unsafe_op"] and f.remedies == ["guard_unsafe_op"]
    assert audit(C.digits_case(lambda: C.mlp(1, 8, nn.ReLU)), [nan]) == []  # no log/sqrt/exp to suspect
