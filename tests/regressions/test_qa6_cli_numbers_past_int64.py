"""Regression: a number past the 64-bit range typed on the command line crashed the readers. ``graddoctor stats
RUN --step 100000000000000000000`` ended in a traceback (numpy's "OverflowError: Python int too large to convert
to C long") instead of "step ... was not recorded", and ``graddoctor live RUN --window 100000000000000000000``
said the store "is damaged or unreadable (datatype mismatch) ... restore it from a copy" (SQLite's LIMIT
overflowed): the store was fine. Such a step is now not recorded, and such a window is the whole run."""
from pathlib import Path

from click.testing import CliRunner
from tests.present.present_fixtures import write_store

from graddoctor.cli import main

#: Past what a signed 64-bit integer (a stored step, an SQLite LIMIT) holds.
HUGE = 10**20


def test_step_past_int64_is_not_recorded(tmp_path: Path) -> None:
    store = str(write_store(tmp_path / "run.sqlite", n_layers=3, n_steps=12))
    for step in (HUGE, -HUGE):
        res = CliRunner().invoke(main, ["stats", store, f"--step={step}"])
        assert res.exit_code == 2, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
        assert f"step {step} was not recorded" in " ".join(res.output.split())


def test_window_past_int64_shows_the_whole_run(tmp_path: Path) -> None:
    store = str(write_store(tmp_path / "run.sqlite", n_layers=3, n_steps=12))
    res = CliRunner().invoke(main, ["live", store, "--once", "--window", str(HUGE)])
    assert res.exit_code == 0, res.output
    assert "damaged" not in res.output and "12 steps recorded" in res.output
