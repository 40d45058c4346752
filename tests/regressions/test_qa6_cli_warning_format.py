"""Regression: a warning that graddoctor raises during a command came out in Python's format, with the path and
line of graddoctor's own source and that line of code under it (``graddoctor diagnose`` of a store it cannot
write: ".../graddoctor/commands/diagnose.py:28: UserWarning: the diagnosis was not saved ...\\n  diag =
diagnose(store, save=not no_save)"). It is now printed as ``warning: MESSAGE``; warnings from the user's own code
keep Python's format, whose file and line are theirs to open."""
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.present.present_fixtures import write_store

import graddoctor.store.sqlite
from graddoctor.cli import main
from graddoctor.errors import StoreError


def test_graddoctor_warning_is_one_plain_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = str(write_store(tmp_path / "run.sqlite", n_layers=3, n_steps=5))

    def read_only(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise StoreError("the file is read-only for you")

    monkeypatch.setattr(graddoctor.store.sqlite, "append_findings", read_only)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        res = CliRunner().invoke(main, ["diagnose", store])
    assert res.exit_code in (0, 1), res.output
    assert "warning: the diagnosis was not saved into the run store: the file is read-only for you" in res.stderr
    assert "UserWarning" not in res.stderr and ".py:" not in res.stderr, res.stderr


def test_user_code_warning_keeps_its_location(tmp_path: Path) -> None:
    recipe = tmp_path / "net.py"
    recipe.write_text("import warnings\nimport torch\nfrom torch import nn\n\n\ndef case():\n"
                      "    warnings.warn('my own warning')\n    torch.manual_seed(0)\n"
                      "    return nn.Sequential(nn.Linear(4, 2)), torch.randn(8, 4), torch.randint(0, 2, (8,)), "
                      "nn.functional.cross_entropy\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        res = CliRunner().invoke(main, ["check", f"{recipe}:case"])
    assert res.exit_code in (0, 1), res.output
    assert f"{recipe}:7: UserWarning: my own warning" in res.stderr, res.stderr
