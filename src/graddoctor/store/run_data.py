"""RunData: what a watched run recorded, as arrays (layers x steps) per statistic."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Per-layer statistics (arrays of shape layers x steps). Defined in docs/statistics.md.
LAYER_STATS: dict[str, str] = {
    "weight_grad_norm": "||dL/dW|| over the layer's weight parameters (every parameter whose name lacks 'bias')",
    "bias_grad_norm": "||dL/db|| over the layer's bias parameters",
    "weight_norm": "||W|| over the layer's weight parameters",
    "grad_ratio": "weight_grad_norm / weight_norm",
    "update_ratio": "||W_t - W_{t-1}|| / ||W_t|| over the weight parameters (estimated on a fixed subsample "
    "of at most update_sample entries per parameter)",
    "signal_norm": "||dL/d(layer output)||, summed in quadrature over calls and micro-batches",
    "signal_rms": "signal_norm / sqrt(number of output elements)",
    "in_signal_norm": "||dL/d(layer input)|| (NaN when the input does not require grad)",
    "out_mean": "mean of the layer output",
    "out_rms": "root mean square of the layer output",
    "out_nonfinite": "1 if any entry of the layer output is NaN/Inf (exact, every recorded step), else 0",
    "act_mean": "mean of the output of the activation that follows the layer (the layer output if none)",
    "act_rms": "root mean square of that activation output",
    "act_nonfinite": "fraction of non-finite entries in that activation output (detail steps, strided sample)",
    "act_saturated": "fraction of units of a saturating activation whose derivative is < 1 % of its maximum",
    "act_dead": "fraction of ReLU/ReLU6 units that are zero for every sample of the batch",
    "act_deriv": "mean derivative of the activation over the batch (computed from its output)",
    "act_p02": "2nd percentile of the activation output (strided subsample)",
    "act_p98": "98th percentile of the activation output (strided subsample)",
    "grad_nonfinite": "number of the layer's parameter tensors whose gradient holds a NaN/Inf (from their norms)",
}

#: Per-step statistics (arrays of length steps).
STEP_STATS: dict[str, str] = {
    "loss": "the loss passed to run.step(loss=...) or run.log_loss(...) (NaN when not given)",
    "total_grad_norm": "||dL/dtheta|| over every watched parameter",
    "nonfinite_grads": "number of watched parameter tensors whose gradient holds a NaN/Inf",
    "wall_time": "seconds since the run started, at the end of the step",
}


@dataclass
class LayerInfo:
    """One layer of the watched model, in forward execution order."""

    index: int          # column in the stored arrays
    name: str
    type: str
    activation: str | None = None         # kind of the activation that follows, e.g. "sigmoid"
    activation_module: str | None = None  # qualified name of that activation module
    order: int | None = None              # position in forward execution order
    info: dict[str, Any] = field(default_factory=dict)  # shapes, counts, fan-in/out, flags

    @property
    def recurrent(self) -> bool:
        return bool(self.info.get("recurrent", False))


@dataclass
class RunData:
    """Everything a run recorded.

    Attributes:
        layers: layers in forward execution order; ``layer_stats[name][i]`` belongs to ``layers[i]``.
        steps: recorded optimizer steps (0-based), ascending.
        layer_stats: statistic name -> array (layers x steps), NaN where not measured.
        step_stats: statistic name -> array (steps,).
        series: series name -> layer name -> (steps, values (n_steps x T)); e.g. ``time_signal``, the norm of
            dL/dx_t per time step of a recurrent layer's input.
        meta: run metadata (model summary, optimizer, versions, settings, start time, status).
        findings: findings stored with the run (list of dicts, each with its ``source``): the latest batch
            (diagnosis) of each source; earlier ones stay in the store (``store.sqlite.load_findings``).
        diagnosed: True when a diagnosis was ever stored with the run, even one that found nothing. An empty
            ``findings`` then means "no problem found"; without one it means "never diagnosed" (``watch()``
            stores none by itself: ``gd.diagnose(path)`` does).
    """

    layers: list[LayerInfo]
    steps: np.ndarray
    layer_stats: dict[str, np.ndarray]
    step_stats: dict[str, np.ndarray]
    series: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    path: str | None = None
    diagnosed: bool = False

    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    @property
    def n_steps(self) -> int:
        return int(self.steps.size)

    @property
    def finished(self) -> bool:
        return self.meta.get("status") == "finished"

    def stat(self, name: str) -> np.ndarray:
        """A per-layer statistic as an array (layers x steps)."""
        if name not in self.layer_stats:
            # It listed every per-layer statistic as "recorded", also those the run never recorded (all NaN),
            # and said nothing of a per-step one (stat("loss")) or of a near miss (stat("signal_norms")).
            if name in self.step_stats:
                raise KeyError(f"{name!r} is a per-step statistic, not a per-layer one: read it as "
                               f"step_stats[{name!r}] (one value per recorded step)")
            close = difflib.get_close_matches(str(name), list(self.layer_stats), n=2, cutoff=0.6)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            raise KeyError(f"no per-layer statistic {name!r}{hint}; the per-layer statistics are "
                           f"{', '.join(self.layer_stats)} (docs/statistics.md; NaN where not recorded), the "
                           f"per-step ones ({', '.join(self.step_stats)}) are in step_stats")
        return self.layer_stats[name]

    def at_step(self, name: str, step: int | None = None) -> np.ndarray:
        """A per-layer statistic at one recorded step, shape (layers,).

        With ``step=None``, each layer's latest measured value: statistics taken on detail steps only (see
        docs/statistics.md) come from the last detail step, the others from the last recorded step.

        Raises:
            KeyError: no statistic ``name``, or ``step`` was not recorded (a step between two recorded ones
                used to return the next one's values, and one past the last an IndexError).
        """
        arr = self.stat(name)
        if step is not None:
            pos = int(np.searchsorted(self.steps, step))
            if pos >= self.n_steps or int(self.steps[pos]) != step:
                span = f"recorded steps run from {int(self.steps[0])} to {int(self.steps[-1])}" if self.n_steps \
                    else "no step was recorded"
                raise KeyError(f"step {step} was not recorded; {span}")
            return arr[:, pos]
        if arr.shape[1] == 0:
            return np.full(len(self.layers), np.nan)
        return self.last_measured(name)

    def last_measured(self, name: str) -> np.ndarray:
        """Each layer's value at the last step where it is not NaN (NaN if never measured), shape (layers,)."""
        arr = self.stat(name)
        out = np.full(arr.shape[0], np.nan, dtype=np.float64)
        if arr.shape[1] == 0:
            return out
        ok = ~np.isnan(arr)
        last = arr.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
        has = ok.any(axis=1)
        out[has] = arr[np.nonzero(has)[0], last[has]]
        return out

    def layer(self, name: str) -> LayerInfo:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r}")
