"""Regressions of `graddoctor repair`'s outcome reporting:

* a --save path that could not be written raised a traceback after every trial had trained, and the results
  table was never printed. The folder is now checked (and created) before training, and a save that still
  fails prints the results first, then exits 2 naming the path.
* a healthy baseline (no remedy tried, stopped="healthy") was reported as "No remedy beat the baseline by more
  than the seed-to-seed spread while fixing the finding", as if remedies had been tried and lost; the table
  and the HTML verdict now say that no problem was found and nothing was tried.
"""
import json
import time

from click.testing import CliRunner
from rich.console import Console
from torch import nn

from graddoctor.cli import main
from graddoctor.present.repair_view import repair_context
from graddoctor.repair.result import RepairResult
from graddoctor.repair.table import print_result
from graddoctor.repair.trials import Trial

USER = """
import torch, torch.nn as nn, torch.nn.functional as F
import graddoctor as gd

def case():
    X, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    return gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2)), train=(X, y),
                   loss_fn=F.cross_entropy, optimizer_fn=lambda p: torch.optim.SGD(p, lr=0.1), steps=3, batch_size=8)
"""


def _winner() -> RepairResult:
    best = Trial(remedy="he_init", seeds=[0], metrics=[0.9], losses=[0.3], speeds=[1e-3], gain=0.5, margin=0.01)
    return RepairResult(baseline=Trial(remedy=None, seeds=[0], metrics=[0.4], losses=[1.0], speeds=[1e-6]),
                        trials=[best], best=best, model=nn.Linear(3, 2), metric_name="accuracy")


def test_unwritable_save_fails_before_training(tmp_path):
    (tmp_path / "net.py").write_text(USER)
    (tmp_path / "a_file").write_text("")
    t0 = time.time()
    r = CliRunner().invoke(main, ["repair", f"{tmp_path / 'net.py'}:case", "--save", str(tmp_path / "a_file" / "m.pt")])
    assert r.exit_code == 2 and "--save" in r.output and "Traceback" not in r.output, r.output
    assert time.time() - t0 < 60


def test_a_failed_save_still_prints_the_results(tmp_path, monkeypatch):
    (tmp_path / "net.py").write_text(USER)
    monkeypatch.setattr("graddoctor.repair.repair", lambda case, **kw: _winner())

    def refuse(result, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("graddoctor.commands.repair.save_repaired", refuse)
    target = f"{tmp_path / 'net.py'}:case"
    r = CliRunner(env={"COLUMNS": "120"}).invoke(main, ["repair", target, "--save", str(tmp_path / "m.pt")])
    assert r.exit_code == 2 and "No space left" in r.output and "he_init" in r.output, r.output
    r = CliRunner().invoke(main, ["repair", target, "--json", "--save", str(tmp_path / "m.pt")])
    assert r.exit_code == 2 and json.loads(r.stdout)["best"]["remedy"] == "he_init"


def test_healthy_baseline_is_not_reported_as_remedies_that_lost():
    result = RepairResult(baseline=Trial(remedy=None, seeds=[0], metrics=[0.9], losses=[0.3], speeds=[1e-3],
                                         findings=[]), stopped="healthy", metric_name="accuracy")
    console = Console(width=200, record=True, no_color=True)
    print_result(result, console)
    text = console.export_text()
    assert "no remedy was tried" in text and "beat the baseline" not in text
    assert "no remedy was tried" in repair_context(result.to_dict())["verdict"]
