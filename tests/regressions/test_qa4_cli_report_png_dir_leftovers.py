"""Regression: ``graddoctor report RUN --png-dir figs`` counted every PNG in figs/ ("figures: 7 PNG files") and
said nothing of the figures an earlier report had left there: after the report of an RNN run, the report of an
MLP into the same folder left the RNN's time_signal.png among this run's figures, counted as one of them. The
count is now what this report wrote, and leftover figure files are named."""
import os
import time

from click.testing import CliRunner
from tests.present.present_fixtures import write_store

from graddoctor.cli import main
from graddoctor.present.html import run_figures
from graddoctor.present.sampling import load_for_display


def test_leftover_figures_are_not_counted_and_are_named(tmp_path):
    figs = tmp_path / "figs"
    figs.mkdir()
    old = figs / "time_signal.png"
    old.write_bytes(b"\x89PNG old")
    then = time.time() - 3600
    os.utime(old, (then, then))
    run = str(write_store(tmp_path / "run.sqlite", n_layers=3, n_steps=5))
    res = CliRunner().invoke(main, ["report", run, "-o", str(tmp_path / "r.html"), "--png-dir", str(figs)])
    assert res.exit_code == 0, res.output
    written = len(list(figs.glob("*.png"))) - 1
    assert f"figures: {written} PNG files" in res.output
    assert "time_signal.png" in res.output


def test_figure_keys_match_the_report(tmp_path):
    from graddoctor.commands.report import FIGURE_KEYS

    view, sampling = load_for_display(write_store(tmp_path / "keys.sqlite", n_layers=2, n_steps=3))
    assert set(run_figures(view, sampling, draw_figures=False)) == FIGURE_KEYS
