"""Regression: ``python -m graddoctor ...`` failed with "No module named graddoctor.__main__" (the way to run the
command line from a notebook kernel or a venv that is not activated), and a misspelt command (``graddoctor
reprot run.sqlite``) said only "No such command". ``python -m graddoctor`` is now the same command line, and a
misspelt command names the closest ones."""
import subprocess
import sys

from click.testing import CliRunner

from graddoctor import __version__
from graddoctor.cli import main


def test_python_dash_m_runs_the_command_line():
    res = subprocess.run([sys.executable, "-m", "graddoctor", "--version"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"graddoctor, version {__version__}"


def test_misspelt_command_names_the_closest():
    res = CliRunner().invoke(main, ["reprot", "run.sqlite"])
    assert res.exit_code == 2 and "Did you mean 'report'" in res.output, res.output
    res = CliRunner().invoke(main, ["zzz"])
    assert res.exit_code == 2 and "No such command 'zzz'." in res.output and "Did you mean" not in res.output
