"""Regression: diagnose_run (and so `graddoctor diagnose`, gd.diagnose(path)) turned every per-layer statistic
of the run into a float64 copy before the detectors ran, the all-NaN placeholders of the statistics the store
never recorded included (20 x 8 bytes x layers x steps), and the exploding detector took np.nanmedian over the
whole layers x steps update-ratio array (several more float64 copies). A 500-layer x 20,000-step store that
load_run reads in 0.42 GB peaked at 2.2 GB in diagnose_run; now at 0.46 GB. The detectors read the recorded
arrays through read-only views, and the per-step median goes over blocks of step columns."""
import subprocess
import sys

import numpy as np

from graddoctor.store.base import Batch
from graddoctor.store.sqlite import SQLiteStore

N_LAYERS, N_STEPS = 200, 2000  # 1.5 MB per recorded statistic in float32
RECORDED = ("weight_grad_norm", "weight_norm", "grad_ratio", "signal_norm", "update_ratio")


def _store(path):
    store = SQLiteStore(path)
    layers = [{"index": i, "name": f"l{i}", "type": "Linear", "order": i, "fan_in": 64, "fan_out": 64,
               "params": {"weight": [64, 64], "bias": [64]}, "activation": "relu"} for i in range(N_LAYERS)]
    store.begin({"status": "running"}, layers)
    rng = np.random.default_rng(0)
    for s0 in range(0, N_STEPS, 1000):
        steps = np.arange(s0, s0 + 1000)
        stats = {k: rng.random((1000, N_LAYERS), dtype=np.float32) + 0.5 for k in RECORDED}
        store.write(Batch(steps=steps, wall_time=steps * 0.01, layer_stats=stats,
                          step_stats={"loss": np.ones(1000), "total_grad_norm": np.ones(1000)}))
    store.close("finished")
    return path


def test_diagnose_run_does_not_copy_the_layers_x_steps_arrays(tmp_path):
    path = _store(str(tmp_path / "big.sqlite"))
    code = ("import resource, sys, numpy as np; from graddoctor.store.sqlite import load_run; "
            "from graddoctor.diagnosis import diagnose_run; d = load_run(sys.argv[1]); "
            "keep = d.stat('update_ratio').copy(); "
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; diag = diagnose_run(d); "
            "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before; "
            "assert np.array_equal(keep, d.stat('update_ratio')); "
            "print(len(diag.findings), grown)")
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True).stdout
    n_findings, grown_kb = (int(v) for v in out.split()[-2:])
    assert n_findings >= 0
    recorded_mb = N_LAYERS * N_STEPS * 4 / 2**20  # 1.5 MB
    # before the fix: 20 float64 copies (61 MB) and the median's copies; now read-only views, bounded blocks
    assert grown_kb / 1024 < 6 * recorded_mb + 16, grown_kb
