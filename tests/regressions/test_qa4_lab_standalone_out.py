"""QA4 (lab): `python -m graddoctor.lab.experiments.NAME --out DIR` (the documented stand-alone form) with a DIR
that cannot be created ran the whole experiment and then died with a traceback while saving; `--seeds 0` was
silently taken as the default. Both are now usage errors before anything runs."""
from __future__ import annotations

import sys

import pytest

from graddoctor.lab import runner


@pytest.mark.parametrize("args", [["--out", "{tmp}/afile/sub"], ["--seeds", "0"]])
def test_refused_before_running(args, tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "afile").write_text("x")
    calls = []
    monkeypatch.setattr(sys, "argv", ["nielsen.py", "--quick", *[a.format(tmp=tmp_path) for a in args]])
    with pytest.raises(SystemExit) as e:
        runner.standalone("t", lambda **kw: calls.append(kw))
    assert e.value.code == 2 and calls == []
    assert "error:" in capsys.readouterr().err
