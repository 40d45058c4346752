"""``python -m graddoctor.lab.experiments.NAME`` (runner.standalone's documented form) ran nothing and exited 0
for nielsen, glorot, he_init, saxe and meanfield: those modules had no ``__main__`` block. Every experiment
module now has one that calls ``runner.standalone``; nielsen's is run (its ``--help``)."""
from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

from graddoctor.lab import registry


@pytest.mark.parametrize("name", registry.names())
def test_every_experiment_module_has_a_main_block(name: str) -> None:
    source = inspect.getsource(importlib.import_module(registry.EXPERIMENTS[name]))
    main = source.partition('if __name__ == "__main__":')[2]
    assert "standalone(TITLE, run)" in main, f"{name} does nothing under python -m"


def test_nielsen_runs_standalone() -> None:
    r = subprocess.run([sys.executable, "-m", registry.EXPERIMENTS["nielsen"], "--help"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "--quick" in r.stdout, (r.stdout, r.stderr)
