"""Regression: gd.load_run (and so `graddoctor diagnose`, gd.diagnose(path)) allocated a full layers x steps
float32 array for each of the 20 per-layer statistics, also for those the store never recorded, and copied
every recorded one twice more (concatenating the single batch it had read, then re-ordering layers already
in order). A 500-layer x 20,000-step store holding 5 statistics (200 MB of numbers, 470 MB on disk) took
1.8 GB and 14 s to load. Statistics that were not recorded are now one all-NaN read-only view, and a store read
is transposed, not copied."""
import subprocess
import sys

import numpy as np

from graddoctor.store.base import Batch
from graddoctor.store.run_data import LAYER_STATS
from graddoctor.store.sqlite import SQLiteStore, load_run

N_LAYERS, N_STEPS = 200, 5000  # 4 MB per statistic


def _store(path):
    store = SQLiteStore(path)
    store.begin({"status": "running"}, [{"index": i, "name": f"l{i}", "order": i} for i in range(N_LAYERS)])
    rng = np.random.default_rng(0)
    for s0 in range(0, N_STEPS, 1000):
        steps = np.arange(s0, s0 + 1000)
        store.write(Batch(steps=steps, wall_time=steps * 0.01,
                          layer_stats={"signal_norm": rng.random((1000, N_LAYERS), dtype=np.float32)},
                          step_stats={"loss": np.ones(1000)}))
    store.close("finished")
    return path


def test_unrecorded_statistics_cost_no_memory_and_read_as_nan(tmp_path):
    path = _store(str(tmp_path / "big.sqlite"))
    data = load_run(path)
    assert set(data.layer_stats) == set(LAYER_STATS)
    assert data.stat("signal_norm").shape == (N_LAYERS, N_STEPS) and np.isfinite(data.stat("signal_norm")).all()
    other = data.stat("act_mean")
    assert other.shape == (N_LAYERS, N_STEPS) and np.isnan(other).all()
    assert other.base is not None and other.nbytes > 0 and other.strides == (0, 0)
    assert np.isnan(data.at_step("act_mean")).all() and np.isnan(data.last_measured("grad_ratio")).all()


def test_load_run_peak_memory_is_near_the_recorded_data(tmp_path):
    path = _store(str(tmp_path / "big.sqlite"))
    code = ("import resource, sys; from graddoctor.store.sqlite import load_run; "
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; d = load_run(sys.argv[1]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)")
    grown_kb = int(subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                                  check=True).stdout.split()[-1])
    recorded_mb = N_LAYERS * N_STEPS * 4 / 2**20  # 3.8 MB
    # before the fix: 20 statistics x 3.8 MB, most of them twice (> 100 MB); now the one recorded, about twice
    assert grown_kb / 1024 < 6 * recorded_mb + 8, grown_kb
