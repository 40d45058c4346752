"""QA4 (lab): `graddoctor lab run NAME --out DIR` with a DIR that cannot be created (a path under a file, a
read-only place) ran the whole experiment and then died with a NotADirectoryError/FileNotFoundError traceback
when saving, losing the result (minutes for a full run). Now the folder is created and tried before anything
runs: a clear usage error (exit 2) naming it."""
from __future__ import annotations

from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.lab import runner


def test_unwritable_out_is_refused_before_running(tmp_path, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(runner, "run_experiment", lambda name, **kw: calls.append(name))
    (tmp_path / "afile").write_text("x")
    r = CliRunner().invoke(main, ["lab", "run", "nielsen", "--quick", "--out", str(tmp_path / "afile" / "sub")])
    assert r.exit_code == 2, r.output
    assert "cannot write the results folder" in r.output and "afile" in r.output, r.output
    assert calls == []
    assert r.exception is None or isinstance(r.exception, SystemExit)
