"""Regression: terminal output passed user strings (module names, finding messages, paths) to rich as
markup, so a module named "[/]" crashed `graddoctor stats`, `diagnose`, `live` and `check` with
rich.errors.MarkupError, and one named "[bold]w" was printed as a bold "w". Names are now printed as text."""
import torch
from click.testing import CliRunner
from torch import nn

from graddoctor.cli import main

from . import watched_sgd

NAMES = ("[/]", "[bold]w")
USER = """
import torch
from torch import nn

def case():
    m = nn.Sequential()
    m.add_module("[/]", nn.Linear(4, 8))
    m.add_module("s", nn.Sigmoid())
    m.add_module("[bold]w", nn.Linear(8, 2))
    return m, torch.randn(16, 4), torch.randint(0, 2, (16,)), nn.functional.cross_entropy
"""


def _model() -> nn.Module:
    m = nn.Sequential()
    m.add_module(NAMES[0], nn.Linear(4, 8))
    m.add_module("s", nn.Sigmoid())
    m.add_module(NAMES[1], nn.Linear(8, 2))
    return m


def test_module_names_with_markup_are_printed_as_text(tmp_path):
    model = _model()
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    store = str(tmp_path / "run [x].sqlite")
    watched_sgd(model, x, y, store=store)
    (tmp_path / "net.py").write_text(USER)
    runner = CliRunner(env={"COLUMNS": "200"})
    for args in (["stats", store], ["diagnose", "--no-save", store], ["live", "--once", store],
                 ["check", f"{tmp_path / 'net.py'}:case"]):
        r = runner.invoke(main, args)
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
        assert r.exit_code in (0, 1), (args, r.output)
        for name in NAMES:
            assert name in r.output, (args, name, r.output)
    r = runner.invoke(main, ["stats", store])
    assert "run [x].sqlite" in r.output
