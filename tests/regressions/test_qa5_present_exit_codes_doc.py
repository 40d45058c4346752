"""Regression: docs/report.md's exit-status paragraph ("all graddoctor commands") named 1 only for diagnose,
check and live, though ``graddoctor lab run`` exits 1 when a reproduction check fails and 2 when a data package
is missing, and it said nothing of ``repair`` (0 with or without a winner). The paragraph now covers every
command whose --help documents an exit status."""
from pathlib import Path

from click.testing import CliRunner

from graddoctor.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "report.md"


def _paragraph() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("Exit status (all graddoctor commands)")
    return " ".join(text[start:text.index("\n\n", start)].split())


def test_every_command_with_documented_exit_codes_is_in_the_paragraph():
    para = _paragraph()
    for args, name in ((["diagnose"], "`diagnose`"), (["check"], "`check`"), (["live"], "`live`"),
                       (["repair"], "`repair`"), (["lab", "run"], "`lab run`"), (["stats"], "`stats`")):
        helptext = " ".join(CliRunner().invoke(main, [*args, "--help"]).output.split())
        assert "xit code" in helptext or "exits with status" in helptext, args
        assert name in para, (name, para)


def test_lab_run_codes_are_named():
    para = _paragraph()
    assert "a reproduction check failed (`lab run`" in para
    assert "`lab run` also exits 2 when a package" in para
