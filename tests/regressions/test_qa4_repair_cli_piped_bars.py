"""Regression: ``graddoctor repair FILE:case`` piped into a log (CI, ``| tee``) drew every trial's progress bar
(``progress=not as_json``), printing each finished bar as a line, where the docs say piped output gets no bars.
Bars are drawn where the other progress bars are: a terminal, or GRADDOCTOR_PROGRESS=1."""
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


def _progress_flag(tmp_path, monkeypatch, env: dict[str, str]) -> bool:  # noqa: ANN001
    (tmp_path / "net.py").write_text(USER)
    seen: dict[str, bool] = {}
    healthy = RepairResult(baseline=Trial(remedy=None, seeds=[0], metrics=[0.9], losses=[0.3], speeds=[1e-3],
                                          findings=[]), stopped="healthy", metric_name="accuracy")

    def fake(case, **kw):  # noqa: ANN001, ANN202
        seen["progress"] = kw["progress"]
        return healthy

    monkeypatch.setattr("graddoctor.repair.repair", fake)
    r = CliRunner(env={"COLUMNS": "200", **env}).invoke(main, ["repair", f"{tmp_path / 'net.py'}:case"])
    assert r.exit_code == 0, r.output
    return seen["progress"]


def test_piped_repair_draws_no_bars(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GRADDOCTOR_PROGRESS", raising=False)
    assert _progress_flag(tmp_path, monkeypatch, {}) is False


def test_bars_on_request(tmp_path, monkeypatch) -> None:
    assert _progress_flag(tmp_path, monkeypatch, {"GRADDOCTOR_PROGRESS": "1"}) is True
