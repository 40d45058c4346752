"""Regression: ``graddoctor stats RUN --step 7`` of a run recorded every 3rd step said "(e.g. 9)": the next
recorded step only, and in a run longer than 1,000 steps one of the displayed steps, possibly far from 7. The
error now names the recorded steps on either side, from all the recorded steps."""
import numpy as np
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.store.base import Batch
from graddoctor.store.sqlite import SQLiteStore


def _store(path, steps):
    s = SQLiteStore(path)
    s.begin({"status": "finished"}, [{"index": 0, "name": "fc", "type": "Linear", "order": 0}])
    n = steps.size
    s.write(Batch(steps=steps, wall_time=np.arange(n) * 1.0, layer_stats={"signal_norm": np.ones((n, 1))},
                  step_stats={"loss": np.ones(n)}))
    s.close("finished")
    return str(path)


def test_nearest_recorded_steps_on_either_side(tmp_path):
    run = _store(tmp_path / "a.sqlite", np.arange(0, 60, 3))
    res = CliRunner().invoke(main, ["stats", run, "--step", "7"])
    assert res.exit_code == 2 and "nearest: 6 and 9" in res.output, res.output


def test_nearest_in_a_long_run_comes_from_every_recorded_step(tmp_path):
    run = _store(tmp_path / "b.sqlite", np.arange(0, 9000, 3))  # 3,000 recorded steps, 1,000 displayed
    res = CliRunner().invoke(main, ["stats", run, "--step", "4001"])
    assert res.exit_code == 2 and "nearest: 3999 and 4002" in res.output, res.output
