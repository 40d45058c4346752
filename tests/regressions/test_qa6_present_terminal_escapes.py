"""Regression: a run store's layer names, model class and stored findings reached the terminal raw, so a store
from someone else (docs/security.md: stores are data, never code) could drive the terminal of whoever ran
``graddoctor stats``, ``diagnose`` or ``live`` on it: a layer named ``"c\\x1b[2J"`` cleared the screen,
``"\\x1b]0;...\\x07"`` retitled the window, colour codes disguised rows, and bidi overrides reordered the numbers
on a line. Control characters are now printed as their escapes (``\\x1b[2J``); the store keeps the names exactly."""
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.present.present_fixtures import write_store

import graddoctor as gd
from graddoctor.cli import main

NAMES = ["a\x1b[31mRED\x1b[0m", "b\x1b]0;pwned\x07x", "c\x1b[2Jclear", "d\u202eevil"]


@pytest.fixture()
def store(tmp_path: Path) -> str:
    finding = {"kind": "vanishing_gradient\x1b[8m", "severity": "critical", "layers": NAMES[:2], "step": 0,
               "message": "signal shrinks\x1b[2J", "causes": ["saturating_activation\x1b[1m"], "remedies": [],
               "evidence": {}}
    return str(write_store(tmp_path / "run.sqlite", n_layers=4, n_steps=5, names=NAMES,
                           meta={"model_class": "Net\x1b[5m"}, findings=[finding]))


@pytest.mark.parametrize("args", [["stats"], ["diagnose", "--no-save"], ["live", "--once"]])
def test_no_control_character_reaches_the_terminal(store: str, args: list[str]) -> None:
    res = CliRunner().invoke(main, [args[0], store, *args[1:]], env={"COLUMNS": "200"})
    assert res.exit_code in (0, 1), res.output
    out = res.output
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, repr(out)
    assert "c\\x1b[2Jclear" in out, out


def test_stored_findings_and_model_class_are_escaped(store: str) -> None:
    res = CliRunner().invoke(main, ["live", store, "--once"], env={"COLUMNS": "200"})
    assert "Net\\x1b[5m" in res.output and "vanishing_gradient\\x1b[8m" in res.output, res.output
    assert gd.load_run(store).layer_names == NAMES  # stored and loaded back exactly
