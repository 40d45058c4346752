"""`graddoctor repair ... --save m.pt` on a healthy baseline said "no remedy was tried" and then "nothing saved:
no remedy won", as if remedies had been tried and lost; it now says the baseline is healthy."""
from __future__ import annotations

from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.repair.result import RepairResult
from graddoctor.repair.trials import Trial

USER = """
import torch, torch.nn as nn
import graddoctor as gd

def case():
    return gd.Case(model_fn=lambda: nn.Linear(3, 2), train=(torch.randn(8, 3), torch.randint(0, 2, (8,))), steps=2)
"""


def test_healthy_save_message(tmp_path, monkeypatch) -> None:
    (tmp_path / "net.py").write_text(USER)
    healthy = RepairResult(baseline=Trial(remedy=None, seeds=[0], metrics=[0.9], losses=[0.3], speeds=[1e-3],
                                          findings=[]), stopped="healthy", metric_name="accuracy")
    monkeypatch.setattr("graddoctor.repair.repair", lambda case, **kw: healthy)
    r = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["repair", f"{tmp_path / 'net.py'}:case", "--save",
                                                        str(tmp_path / "m.pt")])
    assert r.exit_code == 0, r.output
    assert "no remedy won" not in r.output and "nothing saved: the baseline is healthy" in r.output
