"""Regression: the README's command-line block said nothing of ``graddoctor diagnose`` writing its findings into
the run store (a practitioner diagnosing a colleague's store changed it without knowing; ``--no-save`` is the way
not to), nor of ``stats --step``/``--json`` and ``live --once``, which its --help documents. The block now names
them, and every option it names exists."""
import re
from pathlib import Path

from click.testing import CliRunner

from graddoctor.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def _cli_lines() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.startswith("graddoctor ")]
    return {ln.split()[1]: ln for ln in lines}


def test_diagnose_line_says_it_stores_findings():
    line = _cli_lines()["diagnose"]
    assert "--no-save" in line and "stores its findings" in line, line


def test_named_options_exist():
    lines = _cli_lines()
    for cmd, want in (("stats", ("--step", "--json")), ("live", ("--once",)), ("diagnose", ("--json", "--no-save"))):
        helptext = CliRunner().invoke(main, [cmd, "--help"]).output
        for opt in want:
            assert opt in lines[cmd], (cmd, opt)
            assert re.search(rf"{opt}\b", helptext), (cmd, opt)
