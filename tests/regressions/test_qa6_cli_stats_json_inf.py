"""Regression: ``graddoctor stats RUN --json`` wrote an infinite statistic (an overflowed backward signal) as
``null``, the value of a statistic that was not measured, while the table printed ``inf`` and ``graddoctor
diagnose --json`` (Diagnosis.to_dict) writes ``"inf"``: a script could not tell an overflow from a gap. +-Inf is
now ``"inf"``/``"-inf"``; NaN stays ``null``; the output stays strict JSON."""
import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.store.base import Batch
from graddoctor.store.sqlite import SQLiteStore


def test_inf_is_not_null(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    store = SQLiteStore(path)
    store.begin({"status": "running", "model_class": "Net"},
                [{"index": i, "name": f"fc{i}", "type": "Linear", "order": i} for i in range(3)])
    signal = np.array([[1.0, np.inf, np.nan], [0.5, -np.inf, 2.0]])  # steps x layers
    store.write(Batch(steps=np.arange(2), wall_time=np.arange(2.0), layer_stats={"signal_norm": signal},
                      step_stats={"loss": np.ones(2)}))
    store.close("finished")
    res = CliRunner().invoke(main, ["stats", str(path), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))["layers"]
    assert [r["signal_norm"] for r in rows] == [0.5, "-inf", 2.0]
    res = CliRunner().invoke(main, ["stats", str(path), "--json", "--step", "0"])
    rows = json.loads(res.output)["layers"]
    assert [r["signal_norm"] for r in rows] == [1.0, "inf", None]
