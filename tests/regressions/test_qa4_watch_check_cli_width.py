"""Regression: `graddoctor check` printed its per-layer table in a fixed-width rich table: in a narrow terminal
rich squeezed cells ("Lin…", "6.1…"), and piped output was always 150 columns wide whatever COLUMNS said. The
table now fits the width by leaving out its last columns and naming them, as `graddoctor diagnose` does."""
import re
from pathlib import Path

from click.testing import CliRunner

from graddoctor.cli import main

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "check_example.py")


def test_check_table_fits_a_narrow_terminal_without_cropping_cells():
    for width in (60, 200):
        r = CliRunner(env={"COLUMNS": str(width)}).invoke(main, ["check", f"{EXAMPLE}:case"])
        assert r.exit_code == 1, r.output
        assert max(len(line.rstrip()) for line in r.output.splitlines()) <= width, r.output
        assert "…" not in r.output, r.output
        assert r.output.count("Linear") == 6, r.output  # the type of every layer, whole
        # the backward signal of every layer is printed as a whole number
        assert len(re.findall(r"\d\.\d\de-\d\d|\b0\.\d+", r.output)) >= 5, r.output
        assert "vanishing_gradient" in r.output
    narrow = CliRunner(env={"COLUMNS": "60"}).invoke(main, ["check", f"{EXAMPLE}:case"]).output
    assert "not shown for width" in narrow and "dead" in narrow
    wide = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["check", f"{EXAMPLE}:case"]).output
    assert "not shown for width" not in wide and "init/ref" in wide
