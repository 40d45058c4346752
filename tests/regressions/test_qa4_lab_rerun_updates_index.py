"""QA4 (lab): re-running one experiment into a folder written by `lab run all` (the usual way to redo a failed
one) left index.html with the old result's verdict (e.g. "FAIL" for an experiment that now passes) and wrote
the new page without its link back to the index. Now the index is rebuilt from the folder's results and the
page links back to it."""
from __future__ import annotations

from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.lab import registry, runner
from graddoctor.lab.base import Check, LabResult


def _fake(passed: bool):
    def run_experiment(name, *, quick=True, seeds=None, out=None, progress=None):
        r = LabResult(name=name, title=name, source="s", checks=[Check("q", 1, 1, "exact", passed)], quick=quick)
        runner.save(r, out)
        return r
    return run_experiment


def test_rerun_updates_the_index(tmp_path, monkeypatch) -> None:
    first = registry.names()[0]
    monkeypatch.setattr(runner, "run_experiment", _fake(False))
    CliRunner().invoke(main, ["lab", "run", "all", "--quick", "--out", str(tmp_path)])
    assert "0 / 1" in (tmp_path / "index.html").read_text()
    monkeypatch.setattr(runner, "run_experiment", _fake(True))
    r = CliRunner().invoke(main, ["lab", "run", first, "--quick", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    index = (tmp_path / "index.html").read_text()
    row = index[index.index(f'href="{first}.html"'):]
    row = row[:row.index("</tr>")]
    assert "1 / 1" in row, row
    assert 'href="index.html"' in (tmp_path / f"{first}.html").read_text()


def test_no_index_without_lab_run_all(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(runner, "run_experiment", _fake(True))
    r = CliRunner().invoke(main, ["lab", "run", registry.names()[0], "--quick", "--out", str(tmp_path)])
    assert r.exit_code == 0 and not (tmp_path / "index.html").exists()
