"""Regression: when the output cannot encode the tables' characters (‖∂L/∂out‖, σ′, the live view's sparklines
and separators), such as a redirect to a file on Windows (cp1252) or ``PYTHONIOENCODING=ascii``, ``graddoctor
stats``, ``diagnose`` and ``live`` ended in a UnicodeEncodeError traceback (exit 1, read by scripts as "problems
found"). Such characters are now written as '?', and the command does its job."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.present.present_fixtures import write_store


@pytest.mark.parametrize("args", [["stats"], ["diagnose", "--no-save"], ["live", "--once"]])
def test_ascii_output_does_not_crash(tmp_path: Path, args: list[str]) -> None:
    store = str(write_store(tmp_path / "run.sqlite", n_layers=3, n_steps=5))
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "COLUMNS": "120"}
    res = subprocess.run([sys.executable, "-m", "graddoctor", args[0], store, *args[1:]], capture_output=True,
                         env=env, timeout=300)
    out, err = res.stdout.decode("ascii"), res.stderr.decode("ascii")
    assert "Traceback" not in err and "UnicodeEncodeError" not in err, err
    assert res.returncode in (0, 1), err
    assert "layers.2" in out, out
