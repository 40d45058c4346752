"""Regression: the shell expands "~" only at the start of a word, so ``graddoctor check "~/net.py:case"`` (quoted,
or ``SPEC=~/net.py:case`` from a script) said the file does not exist. report, stats, diagnose, live, demo, lab
and repair expand "~" (test_qa3_cli_tilde_paths, test_qa6_lab_repair_tilde_paths); check now does too."""
from click.testing import CliRunner

from graddoctor.cli import main

CASE = '''
import torch
from torch import nn
import torch.nn.functional as F

def case():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, torch.randn(16, 4), torch.randint(0, 2, (16,)), F.cross_entropy
'''


def test_check_expands_tilde_in_the_spec(tmp_path, monkeypatch) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / "net.py").write_text(CASE)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    r = CliRunner().invoke(main, ["check", "~/net.py:case", "--json"])
    assert r.exit_code in (0, 1), r.output
    assert '"findings"' in r.output
