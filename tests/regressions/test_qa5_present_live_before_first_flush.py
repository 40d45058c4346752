"""Regression: ``graddoctor live`` started on a run whose writer had not flushed yet (``watch()`` stores its
steps every ``flush_every`` = 50 recorded steps, so a slow model shows nothing for minutes), or on a run that
ended without a step, drew a layer table with headings and no row, and no word why. The view now lists the
layers (with '-' for their values) and says that no step was recorded yet and how often the writer stores
them, or that the run ended without recording one."""
import torch
from click.testing import CliRunner
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.cli import main
from graddoctor.present.live import layer_panel
from graddoctor.store.sqlite import load_run


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))


def _text(table) -> str:  # noqa: ANN001
    console = Console(width=100, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_running_store_without_a_flushed_step_lists_layers_and_says_why(tmp_path):
    store = str(tmp_path / "run.sqlite")
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=store, flush_every=7):
        data = load_run(store)  # the writer has begun the run, no step has been flushed
        assert data.n_steps == 0 and data.meta.get("status") == "running"
        out = _text(layer_panel(data, width=100))
    lines = [ln.split() for ln in out.splitlines()]
    assert ["0", "0", "-", "-", "-"] in lines and ["1", "2", "-", "-", "-"] in lines, out
    flat = " ".join(out.split())  # the caption folds to the table's width
    assert "no step recorded yet" in flat and "every 7 recorded steps" in flat
    assert "stores the first one when the next begins" in flat  # watch() writes step 0 early, for live views


def test_finished_run_without_steps_says_so(tmp_path):
    store = str(tmp_path / "empty_run.sqlite")
    model = _model()
    with gd.watch(model, torch.optim.SGD(model.parameters(), lr=0.1), store=store):
        pass
    res = CliRunner().invoke(main, ["live", "--once", store], env={"COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "the run ended without recording a step" in flat and "no step recorded yet" not in flat
