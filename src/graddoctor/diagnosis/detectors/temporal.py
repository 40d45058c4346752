"""vanishing_gradient / exploding_gradient, axis "time": ||dL/dx_t|| of a recurrent layer's input against the
distance from the loss."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...stats.series import memory_horizon
from ..causes import LONG_SEQUENCE, rank_remedies
from ..context import GATED_TYPES, Context, fnum, robust_slope, safe_log10
from ..findings import Finding
from .base import Detector, register


def time_profile_summary(v: np.ndarray, horizon_factor: float) -> dict[str, Any] | None:
    """Memory horizon, per-step factor and first/last ratio of one profile (time order, last = nearest loss)."""
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 3 or v[-1] <= 0:
        return None
    dist = np.arange(v.size - 1, -1, -1, dtype=float)  # distance from the loss
    slope = robust_slope(dist, safe_log10(v))
    return {"length": int(v.size), "horizon": memory_horizon(v.tolist(), horizon_factor),
            "per_step_factor": float(10 ** slope) if np.isfinite(slope) else float("nan"),
            "first_last_ratio": float(v[0] / v[-1])}


@register
class Temporal(Detector):
    """For every recurrent layer with a recorded ``time_signal`` (RNN, LSTM, GRU), the memory horizon: the
    number of steps back from the loss until ||dL/dx_t|| falls below ``horizon_factor`` of its value at the
    last step, beside the sequence length, and the fitted per-step factor.

    A horizon shorter than the sequence means the earliest inputs receive less than 1/1000 of the gradient of
    the last. A plain RNN cannot fix that by learning (Bengio et al. 1994); an LSTM at PyTorch's default init
    (forget-gate bias 0) also forgets fast at step 0 but can learn to open its gates, so a gated layer gets an
    info finding only. Growth going back beyond ``explode_ratio`` is an exploding gradient through time.

    Args:
        horizon_factor: 1e-3 (the issue's definition of the memory horizon: three orders of magnitude).
        explode_ratio: first/last ratio above which the gradient explodes through time: 1e3 (symmetric).
        critical_ratio: first/last ratio (or its inverse) beyond which the finding is critical: 1e6.
        min_length: shortest sequence examined: 10 steps (Hochreiter & Schmidhuber 1997: BPTT fails beyond
            lags of about 10).
        gated_patience: optimizer steps after which a gated layer whose gradient still falls by more than
            ``critical_ratio`` over the sequence is a warning, not info: it had the time to learn to open its
            gates and did not. 1000 steps: the 1997 LSTM solved its lag-100 tasks within 31k-74k sequences
            (1,000-2,300 updates at batch 32), and our lab's LSTMs open their gates within a few hundred updates
            when they succeed (docs/lab/rnn-memory.md); one still closed at 1000 steps is failing.
        stall_steps: 200: an LSTM whose forget-gate bias is still PyTorch's 0 (cause ``forget_gate_closed``),
            whose memory horizon is shorter than the sequence and whose loss improved by less than
            ``min_progress`` after this many optimizer steps is a warning before ``gated_patience``: the loss
            has not left chance level, and the gate bias is the documented fix (Gers et al. 2000; Jozefowicz
            et al. 2015 recommend bias 1 for every LSTM). Measured on the repair benchmark: at a 12-step lag the
            bias-0 LSTM's loss is 0.6931 -> 0.6931 after 300 steps while the bias-1 reference reaches 97 %
            accuracy in the same 300; the healthy LSTM's loss falls 0.69 -> 0.05.
        min_progress: 0.05: relative loss improvement (first ``window`` steps against the last) below which the
            loss counts as not moving (the stalled detector's value).
        window: 10 steps compared at each end.
    """

    name = "temporal"

    def __init__(self, horizon_factor: float = 1e-3, explode_ratio: float = 1e3, critical_ratio: float = 1e6,
                 min_length: int = LONG_SEQUENCE, gated_patience: int = 1000, stall_steps: int = 200,
                 min_progress: float = 0.05, window: int = 10) -> None:
        self.stall_steps = stall_steps
        self.min_progress = min_progress
        self.window = window
        self.horizon_factor = horizon_factor
        self.explode_ratio = explode_ratio
        self.critical_ratio = critical_ratio
        self.min_length = min_length
        self.gated_patience = gated_patience

    def detect(self, ctx: Context) -> list[Finding]:
        out = []
        for lname, (steps, values) in (ctx.series.get("time_signal") or {}).items():
            if values.shape[0] == 0:
                continue
            layer = next((layer for layer in ctx.layers if layer.name == lname), None)
            ltype = layer.type if layer else ""
            # the first and the last recorded profiles that can be summarised: after an overflow the later
            # profiles are NaN, and the explosion through time that caused it is in the earlier ones (a ReLU RNN
            # at 1.5 x identity: 5e6 over 40 steps at step 0, NaN from step 1 on, used to get no finding at all)
            rows, summ = [], []
            for order in (range(values.shape[0]), range(values.shape[0] - 1, -1, -1)):
                for r in order:
                    s = time_profile_summary(values[r], self.horizon_factor)
                    if s is not None:
                        if r not in rows:
                            rows.append(r)
                            summ.append(s)
                        break
                if not rows:
                    break
            if not summ or summ[0]["length"] < self.min_length:
                continue
            last = summ[-1]
            step = None if ctx.source == "check" else int(steps[rows[0]])
            ev: dict[str, Any] = {"sequence_length": last["length"], "memory_horizon": last["horizon"],
                                  "per_step_factor": fnum(last["per_step_factor"]),
                                  "first_last_ratio": fnum(last["first_last_ratio"]),
                                  "layer_type": ltype}
            if len(summ) > 1:
                ev["memory_horizon_first_step"] = summ[0]["horizon"]
                ev["first_last_ratio_first_step"] = fnum(summ[0]["first_last_ratio"])
            last_step = None if ctx.source == "check" else int(steps[rows[-1]])
            if ctx.source != "check":
                onset = self._onset(values[rows[0]:rows[-1] + 1], last)
                step = int(steps[rows[0] + onset])
            f = self._finding(ctx, lname, ltype, last, ev, step, last_step)
            if f is not None:
                out.append(f)
        return out

    def _onset(self, rows: np.ndarray, last: dict[str, Any]) -> int:
        """Index of the first profile in ``rows`` (recorded steps, in order) that shows what the last one does:
        growth back in time beyond ``explode_ratio``, or else a memory horizon shorter than the sequence (a
        finding's ``step`` is the first step that showed it, not the first recorded one); 0 when none does."""
        exploding = last["first_last_ratio"] > self.explode_ratio
        for k, row in enumerate(rows):
            v = np.asarray(row, dtype=float)
            v = v[np.isfinite(v)]
            if v.size < 3 or v[-1] <= 0:
                continue
            if exploding and v[0] / v[-1] > self.explode_ratio:
                return k
            if not exploding and memory_horizon(v.tolist(), self.horizon_factor) is not None:
                return k
        return 0

    def _finding(self, ctx: Context, lname: str, ltype: str, s: dict[str, Any], ev: dict[str, Any],
                 step: int | None, last_step: int | None = None) -> Finding | None:
        ratio = s["first_last_ratio"]
        gated = ltype in GATED_TYPES
        causes: list[str]
        if ratio > self.explode_ratio and lname == "<input>":
            # a non-recurrent sequence model (check): no product over time steps, so no explosion through time.
            # Positions get unequal gradients by design: a [CLS] token pooled by the head, or a causal model's
            # early tokens, which every later output sees. A measurement, not an alarm.
            ev["note"] = "the model's input; no recurrent layer"
            return Finding(kind="exploding_gradient", severity="info", layers=[], axis="time", step=step,
                           evidence=ev, causes=["unknown"], remedies=[], origin=None,
                           message=f"||dL/dx_t|| at the model's input is {ratio:.3g}x larger at the first position "
                                   f"than at the last ({s['length']} steps); without a recurrent layer this "
                                   "reflects how the model uses positions (pooling, causal attention)",
                           detector=self.name)
        if ratio > self.explode_ratio:
            causes = ["init_scale_too_large"] + (["plain_rnn_long_sequence"] if not gated else [])
            sev = "critical" if ratio > self.critical_ratio else "warning"
            return Finding(kind="exploding_gradient", severity=sev, layers=[lname], axis="time", step=step,
                           evidence=ev, causes=causes,
                           remedies=rank_remedies(causes, "exploding_gradient", recurrent=True),
                           message=f"||dL/dx_t|| grows x{s['per_step_factor']:.3g} per step back in time "
                                   f"({ratio:.3g} over {s['length']} steps)", detector=self.name)
        if s["horizon"] is None:
            return None
        causes = []
        if lname == "<input>":  # a non-recurrent sequence model (check): a measurement, not an alarm
            ev["note"] = "the model's input; no recurrent layer"
            return Finding(kind="vanishing_gradient", severity="info", layers=[], axis="time", step=step,
                           evidence=ev, causes=["unknown"], remedies=[], origin=None,
                           message=f"memory horizon of the model's input: {s['horizon']} steps for a sequence of "
                                   f"{s['length']}", detector=self.name)
        if gated:
            fg = ctx.extra.get("forget_gate_bias", {}).get(lname)
            if fg is None:  # a run: the bias at watch start, from the layer table
                layer = next((x for x in ctx.layers if x.name == lname), None)
                fg = layer.info.get("forget_gate_bias") if layer is not None else None
            ev["forget_gate_bias"] = fnum(fg)
            if ltype == "LSTM" and (fg is None or fg < 0.5):
                causes.append("forget_gate_closed")
            sev = "info"
            if last_step is not None and last_step >= self.gated_patience and ratio < 1.0 / self.critical_ratio:
                # still collapsed after training long enough to have opened its gates: failing, not starting
                sev = "warning"
                ev["steps_trained"] = last_step
                if ltype == "LSTM" and "forget_gate_closed" not in causes:
                    causes.append("forget_gate_closed")  # the gates it has are still shut, whatever the init
            elif "forget_gate_closed" in causes and last_step is not None and last_step >= self.stall_steps:
                lp = ctx.loss_progress(self.window)
                progress = lp[2] if lp is not None else None
                if progress is not None and progress < self.min_progress:
                    # closed forget gates at bias 0 and a loss still at its starting level: failing, not starting
                    sev = "warning"
                    ev["steps_trained"] = last_step
                    ev["relative_loss_progress"] = fnum(progress)
        else:
            causes += ["plain_rnn_long_sequence", "saturating_activation"]
            sev = "critical" if ratio < 1.0 / self.critical_ratio else "warning"
        # no cause means a gated layer whose forget-gate bias is known and already >= 0.5 (an LSTM at bias 1):
        # "set the forget-gate bias to 1" was its remedy, beside evidence saying it is 1.0; it gets the generic
        # vanishing remedies (causes.GENERIC_REMEDIES), as a GRU does
        remedies = rank_remedies(causes or ["unknown"], "vanishing_gradient")
        return Finding(kind="vanishing_gradient", severity=sev, layers=[lname], axis="time", step=step,
                       evidence=ev, causes=causes or ["unknown"], remedies=remedies,
                       message=f"memory horizon {s['horizon']} steps for a sequence of {s['length']}: the gradient "
                               f"falls x{s['per_step_factor']:.3g} per step back in time", detector=self.name)
