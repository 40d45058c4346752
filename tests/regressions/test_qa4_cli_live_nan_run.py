"""Regression: ``graddoctor live`` of a run whose loss and gradients were NaN showed "loss -" (read: no loss
logged), blank sparklines and "-" everywhere, with nothing saying why. The header now says "loss NaN" when the
run logs a loss every step, and how many steps of the window held NaN/Inf gradients."""
import io

from rich.console import Console
from tests.regressions import nan_from_start_run

from graddoctor.present.live import run_live


def test_nan_run_header_says_nan(tmp_path):
    path = str(tmp_path / "nan.sqlite")
    nan_from_start_run(path)
    out = io.StringIO()
    run_live(path, once=True, console=Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "loss NaN" in text and "NaN/Inf gradients at 3 of the last 3 steps" in text, text
