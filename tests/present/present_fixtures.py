"""Synthetic run stores and fixed findings for the present tests, written with SQLiteStore + Batch directly (no
training), so the numbers are exact and the tests are fast."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from graddoctor.store.base import Batch
from graddoctor.store.sqlite import SQLiteStore

#: Module names that would run script if a report failed to escape them.
XSS_NAMES = ("<script>document.title='pwned'</script>", "<img src=x onerror=\"document.title='pwned'\">")
XSS_META = "</script><script>document.title='pwned'</script>"
#: Statistics a synthetic store records by default.
DEFAULT_STATS = ("signal_norm", "in_signal_norm", "grad_ratio", "update_ratio", "weight_grad_norm", "act_mean",
                 "act_p02", "act_p98", "act_saturated", "act_dead", "act_deriv", "weight_norm")


#: Statistics the Monitor takes on detail steps only.
DETAIL_STATS = ("in_signal_norm", "act_mean", "act_p02", "act_p98", "act_saturated", "act_dead", "act_deriv")


def layer_rows(names: list[str], activation: str = "sigmoid", recurrent: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    rows = []
    for i, name in enumerate(names):
        rows.append({"index": i, "name": name, "type": "RNN" if i in recurrent else "Linear",
                     "activation": None if i in recurrent or i == len(names) - 1 else activation,
                     "activation_module": None if i == len(names) - 1 else f"act{i}", "order": i,
                     "params": {"weight": [16, 16], "bias": [16]}, "param_count": 272, "trainable": 272,
                     "recurrent": i in recurrent, "conv": False, "fan_in": 16, "fan_out": 16})
    return rows


def synthetic_values(stat: str, steps: np.ndarray, n_layers: int) -> np.ndarray:
    """(steps, layers) values with a vanishing pattern: the backward signal falls 10x per layer towards the
    input (less per layer in nets deeper than 9 layers: 8 decades in all), update ratios follow it, activations
    sit around 0.5."""
    depth = np.arange(n_layers, dtype=np.float64)
    t = steps[:, None].astype(np.float64)
    per_layer = min(1.0, 8.0 / max(n_layers - 1, 1))  # at most 8 decades over the whole depth (float32-safe)
    decay = 10.0 ** (-(n_layers - 1 - depth) * per_layer)[None, :] * (1.0 + 0.1 * np.sin(t / 7.0))
    table = {
        "signal_norm": decay, "in_signal_norm": decay * 0.5, "grad_ratio": decay * 0.1,
        "update_ratio": decay * 1e-2, "weight_grad_norm": decay * 0.3, "weight_norm": np.ones_like(decay) * 3,
        "act_mean": 0.5 + 0.01 * np.cos(t / 5.0) + 0 * decay, "act_p02": 0.2 + 0 * decay,
        "act_p98": 0.8 + 0 * decay, "act_saturated": np.clip(depth / max(n_layers, 1), 0, 1)[None, :] + 0 * t,
        "act_dead": np.full_like(decay, np.nan), "act_deriv": 0.24 + 0 * decay,
    }
    return table[stat].astype(np.float32)


def write_synthetic_batch(store: SQLiteStore, first_step: int, n_steps: int, t0: float) -> None:
    """Write ``n_steps`` steps from ``first_step`` on into the open ``store`` as one batch over 6 layers: the
    vanishing pattern of ``synthetic_values`` for the backward-signal, gradient, update and weight statistics
    (no activations), a loss of 1, a total gradient norm of 0.5, no non-finite gradients, and a wall time of
    ``t0`` plus 0.01 s a step."""
    steps = np.arange(first_step, first_step + n_steps, dtype=np.int64)
    stats = {k: synthetic_values(k, steps, 6) for k in ("signal_norm", "grad_ratio", "update_ratio",
                                                        "weight_grad_norm", "weight_norm")}
    store.write(Batch(steps=steps, wall_time=t0 + steps * 0.01, layer_stats=stats,
                      step_stats={"loss": np.ones(n_steps), "total_grad_norm": np.full(n_steps, 0.5),
                                  "nonfinite_grads": np.zeros(n_steps)}))


def write_store(path: Path, *, n_layers: int = 6, n_steps: int = 40, names: list[str] | None = None,
                stats: tuple[str, ...] = DEFAULT_STATS, chunk: int = 50, recurrent: tuple[int, ...] = (),
                seq_len: int = 30, nonfinite_steps: tuple[int, ...] = (), meta: dict[str, Any] | None = None,
                findings: list[dict[str, Any]] | None = None, status: str = "finished",
                detail_every: int = 1) -> Path:
    """Write a synthetic run store and return its path. With ``detail_every=k``, the detail statistics
    (activations, dL/d(input)) hold values on every k-th step only and NaN elsewhere, as the Monitor records."""
    names = names or [f"layers.{i}" for i in range(n_layers)]
    store = SQLiteStore(path, overwrite=True)
    base_meta = {"model_class": "SyntheticNet", "status": "running", "start_time": 1.7e9, "n_layers": n_layers,
                 "optimizer": {"class": "SGD"}, "user": {}}
    store.begin({**base_meta, **(meta or {})}, layer_rows(names, recurrent=recurrent))
    for s0 in range(0, n_steps, chunk):
        steps = np.arange(s0, min(n_steps, s0 + chunk), dtype=np.int64)
        loss = (1.0 / (1.0 + steps / 10.0)).astype(np.float64)
        tgn = np.full(steps.size, 0.5)
        nfg = np.zeros(steps.size)
        for s in nonfinite_steps:
            if s in steps:
                k = int(np.flatnonzero(steps == s)[0])
                loss[k], tgn[k], nfg[k] = np.inf, np.inf, 3
        series = [(int(s), li, "time_signal", (0.8 ** np.arange(seq_len)[::-1]).astype(np.float32))
                  for s in steps for li in recurrent]
        layer_stats = {k: synthetic_values(k, steps, len(names)) for k in stats}
        for k in layer_stats:
            if k in DETAIL_STATS:
                layer_stats[k][steps % detail_every != 0] = np.nan
        store.write(Batch(steps=steps, wall_time=steps * 0.01, series=series, layer_stats=layer_stats,
                          step_stats={"loss": loss, "total_grad_norm": tgn, "nonfinite_grads": nfg}))
    if findings:
        store.add_findings(findings, source="run")
    if status == "running":
        store.update_meta({"status": "running"})
        store._con.close()
    else:
        store.close(status)
    return path


VANISHING = {"kind": "vanishing_gradient", "severity": "critical", "layers": ["layers.0", "layers.1", "layers.2"],
             "axis": "depth", "origin": None, "step": 3,
             "evidence": {"signal_ratio_first_last": 1e-5, "dominant_factor": "activation",
                          "factors": [{"layer": "layers.0", "gain": 0.1, "weight_factor": 0.5,
                                       "activation_factor": 0.2},
                                      {"layer": "layers.1", "gain": 0.12, "weight_factor": 0.6,
                                       "activation_factor": 0.2}]},
             "causes": ["saturating_activation"], "remedies": ["use_relu_family", "he_init"],
             "message": "the backward signal shrinks 10x per layer", "detector": "vanishing_depth"}

REPAIR = {"metric_name": "accuracy", "changes": ["replaced the hidden sigmoid activations with relu"],
          "baseline": {"remedy": None, "name": "baseline", "metric": 0.31, "loss": 2.1, "findings": [VANISHING],
                       "seeds": [0, 1], "first_layer_speed": 6.7e-05, "spread": 0.01, "fixes": None,
                       "seconds": 1.2, "curves": {"val_loss": [[2.3, 2.2, 2.1], [2.3, 2.25, 2.1]]}},
          "trials": [{"remedy": "use_relu_family", "name": "use_relu_family", "metric": 0.91, "loss": 0.3,
                      "findings": [], "seeds": [0, 1], "first_layer_speed": 0.023, "spread": 0.02, "fixes": True,
                      "seconds": 1.3, "curves": {"val_loss": [[2.3, 1.0, 0.3], [2.3, 1.1, 0.3]]}},
                     {"remedy": "he_init", "name": "he_init", "metric": 0.4, "loss": 1.9, "findings": [VANISHING],
                      "seeds": [0, 1], "first_layer_speed": 8e-05, "spread": 0.05, "fixes": False,
                      "seconds": 1.1}],
          "best": {"remedy": "use_relu_family", "name": "use_relu_family", "metric": 0.91, "loss": 0.3,
                   "findings": [], "seeds": [0, 1], "first_layer_speed": 0.023, "spread": 0.02, "fixes": True,
                   "seconds": 1.3, "curves": {"val_loss": [[2.3, 1.0, 0.3], [2.3, 1.1, 0.3]]}}}

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"
#: Set this environment variable to 1 to rewrite the golden files from the current output.
REGEN_ENV = "GRADDOCTOR_REGEN_GOLDEN"


