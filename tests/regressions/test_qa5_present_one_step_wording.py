"""Regression: a run that recorded a single step was shown as "1 steps recorded" by ``graddoctor live`` and as
"(steps 0-0)" by ``graddoctor diagnose``. They now say "1 step recorded" and "(step 0)"; longer runs keep
"N steps recorded" and "(steps A-B)"."""
import torch
from click.testing import CliRunner
from tests.regressions import watched_sgd
from torch import nn

from graddoctor.cli import main


def _store(tmp_path, steps: int) -> str:
    torch.manual_seed(0)
    path = str(tmp_path / f"run{steps}.sqlite")
    watched_sgd(nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)), torch.randn(8, 4),
                torch.randint(0, 2, (8,)), steps=steps, store=path)
    return path


def test_one_step_is_singular(tmp_path):
    path = _store(tmp_path, 1)
    live = CliRunner().invoke(main, ["live", "--once", path], env={"COLUMNS": "120"})
    assert "1 step recorded" in live.output and "1 steps" not in live.output, live.output
    diag = CliRunner().invoke(main, ["diagnose", "--no-save", path], env={"COLUMNS": "120"})
    assert "(step 0)" in diag.output and "steps 0-0" not in diag.output, diag.output


def test_more_steps_stay_plural(tmp_path):
    path = _store(tmp_path, 3)
    live = CliRunner().invoke(main, ["live", "--once", path], env={"COLUMNS": "120"})
    assert "3 steps recorded" in live.output, live.output
    diag = CliRunner().invoke(main, ["diagnose", "--no-save", path], env={"COLUMNS": "120"})
    assert "(steps 0-2)" in diag.output, diag.output
