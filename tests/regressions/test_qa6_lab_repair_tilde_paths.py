"""Regression: the shell expands "~" only at the start of a word, so ``graddoctor lab run NAME --out=~/results``
created a folder named "~" in the current one, ``lab report "~/results"`` said the folder does not exist, and
``graddoctor repair "~/net.py:case" --save=~/x.pt`` could not find the file or saved under "./~". report, stats,
diagnose, live and demo expanded "~" already (test_qa3_cli_tilde_paths); lab and repair now do too."""
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.lab import runner
from graddoctor.lab.base import Check, LabResult

CASE = '''
import torch
from torch import nn
import graddoctor as gd

def case():
    X = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))
    return gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)),
                   train=(X, (X[:, 0] > 0).long()), steps=3, batch_size=8)
'''


def _fake_result(name: str) -> LabResult:
    return LabResult(name, "t", "s", checks=[Check("q", 1.0, 1.0, "+-0", True)], series={"x": [1]})


def test_lab_paths_expand_tilde(tmp_path, monkeypatch) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)

    def fake_run(name, *, quick=True, seeds=None, out=None, progress=None):
        result = _fake_result(name)
        if out is not None:
            runner.save(result, out)
        return result

    monkeypatch.setattr(runner, "run_experiment", fake_run)
    r = CliRunner().invoke(main, ["lab", "run", "nielsen", "--quick", "--out=~/results"])
    assert r.exit_code == 0, r.output
    assert (home / "results" / "nielsen.json").is_file() and not (work / "~").exists()
    r = CliRunner().invoke(main, ["lab", "report", "~/results"])
    assert r.exit_code == 0, r.output
    assert (home / "results" / "nielsen.html").is_file()


def test_repair_paths_expand_tilde(tmp_path, monkeypatch) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / "net.py").write_text(CASE)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    r = CliRunner().invoke(main, ["repair", "~/net.py:case", "--remedy", "he_init", "--seeds", "1",
                                  "--save=~/out/x.pt", "--json"])
    assert r.exit_code == 0, r.output
    assert not (work / "~").exists()
