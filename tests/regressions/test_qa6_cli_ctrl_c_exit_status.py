"""Regression: Ctrl-C during ``graddoctor diagnose`` (or ``check``, ``report``, ``stats``) ended with click's
"Aborted!" and exit status 1, which diagnose and check document as "problems found" (docs/report.md): a script or
CI job read an interrupted diagnosis as one that had found a problem. An interrupted command now exits 130 (128 +
SIGINT, what a shell reports) and says it was interrupted."""
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.present.present_fixtures import write_store

import graddoctor.diagnosis
from graddoctor.cli import main

#: 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C (graddoctor.cli.EXIT_INTERRUPTED).
INTERRUPTED = 130


def test_interrupted_diagnose_is_not_problems_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = str(write_store(tmp_path / "run.sqlite", n_layers=3, n_steps=5))

    def interrupted(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(graddoctor.diagnosis, "diagnose", interrupted)
    res = CliRunner().invoke(main, ["diagnose", store])
    assert res.exit_code == INTERRUPTED, res.output
    assert "interrupted (Ctrl-C)" in res.output and "Aborted" not in res.output


def test_exit_status_paragraph_names_it() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "report.md").read_text(encoding="utf-8")
    start = doc.index("Exit status (all graddoctor commands)")
    assert "130 interrupted by Ctrl-C" in " ".join(doc[start:doc.index("\n\n", start)].split())
