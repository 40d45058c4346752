"""QA4 (lab): `graddoctor lab run all` stopped at the first experiment that raised (seen during QA when the
diagnosis engine failed to import mid-run): a traceback, the experiments after it never ran and no
index.html was written — after up to half an hour of `make lab-full`. Now the crash is shown, the others
run, the index is written, and the exit status is 1. A single named experiment still raises as before."""
from __future__ import annotations

from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.lab import registry, runner
from graddoctor.lab.base import Check, LabResult


def _fake_run(crash: str):
    def run_experiment(name, *, quick=True, seeds=None, out=None, progress=None):
        if name == crash:
            raise RuntimeError("boom in " + name)
        r = LabResult(name=name, title=name, source="s", checks=[Check("q", 1, 1, "exact", True)], quick=quick)
        if out is not None:
            runner.save(r, out)
        return r
    return run_experiment


def test_one_crash_does_not_stop_the_others(tmp_path, monkeypatch) -> None:
    names = registry.names()
    crash = names[1]
    monkeypatch.setattr(runner, "run_experiment", _fake_run(crash))
    r = CliRunner().invoke(main, ["lab", "run", "all", "--quick", "--out", str(tmp_path)])
    assert r.exit_code == 1, r.output
    assert f"{crash}: crashed (RuntimeError: boom in {crash})" in r.output, r.output
    assert "crashed (no result): " + crash in r.output
    for n in names:
        assert (tmp_path / f"{n}.json").exists() == (n != crash), n
    assert (tmp_path / "index.html").exists()


def test_a_single_experiment_still_raises(tmp_path, monkeypatch) -> None:
    crash = registry.names()[0]
    monkeypatch.setattr(runner, "run_experiment", _fake_run(crash))
    r = CliRunner().invoke(main, ["lab", "run", crash, "--quick", "--out", str(tmp_path)])
    assert r.exit_code == 1 and isinstance(r.exception, RuntimeError)
