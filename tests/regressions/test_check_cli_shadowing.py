"""Regression: `graddoctor check FILE.py:FUNC` left FILE.py's folder first on sys.path, so a neighbour named
like one of graddoctor's dependencies (rich.py, jinja2.py) replaced it when graddoctor imported it later:
the user's rich.py ran, then the command crashed ("'rich' is not a package"). The folder now goes behind
the installed packages once the file is loaded (still importable for the file's own lazy imports)."""
import subprocess
import sys

USER = """
import torch
from torch import nn
from torch.nn import functional as F

def case():
    import helper  # a neighbour imported lazily still works
    return nn.Linear(4, 2), torch.randn(8, 4), torch.randint(0, 2, (8,)), F.cross_entropy
"""


def test_neighbour_named_like_a_dependency_is_not_imported(tmp_path):
    (tmp_path / "net.py").write_text(USER)
    (tmp_path / "helper.py").write_text("X = 1\n")
    (tmp_path / "rich.py").write_text("raise SystemExit('the neighbour rich.py was imported')\n")
    r = subprocess.run([sys.executable, "-m", "graddoctor.cli", "check", f"{tmp_path / 'net.py'}:case"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1), r.stderr[-2000:]
    assert "neighbour rich.py was imported" not in r.stdout + r.stderr
