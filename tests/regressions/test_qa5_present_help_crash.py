"""Regression: ``graddoctor --help`` (and a misspelt command such as ``graddoctor reprot``) crashed with a raw
traceback, "AttributeError: module 'importlib' has no attribute 'util'", when run through the installed
``graddoctor`` script: the CLI used ``importlib.util`` after ``import importlib`` alone, which worked only where
something else (pytest, ``python -m``) had already imported ``importlib.util``. The CLI now imports
``importlib.util`` itself, so the help lists the commands from a fresh interpreter."""
import subprocess
import sys

# what the console script does: a fresh interpreter (-I: no site customisation) that imports graddoctor.cli
SCRIPT = "import sys; from graddoctor.cli import main; sys.argv = ['graddoctor'] + sys.argv[1:]; main()"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", "-c", SCRIPT, *args], capture_output=True, text=True, timeout=60)


def test_help_lists_the_commands_from_a_fresh_interpreter():
    res = _run("--help")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    for name in ("demo", "check", "diagnose", "repair", "report", "live", "lab", "stats"):
        assert f"  {name} " in res.stdout, res.stdout


def test_misspelt_command_from_a_fresh_interpreter():
    res = _run("reprot", "run.sqlite")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "Did you mean 'report'" in res.stderr
