"""non_finite: where the first NaN/Inf appears (module, input or loss) and, during training, when."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..causes import FIRST_UPDATE_TOO_LARGE, rank_remedies
from ..context import Context, fnum, nanmedian
from ..findings import Finding
from .base import Detector, register

#: What to look at, by the cause of a NaN/Inf that appeared without any warning in the gradient norm.
SUDDEN_HINT = {
    "non_finite_loss": "every layer output was finite, so the targets or the loss function made it: look for a "
                       "NaN/Inf in the targets (a missing label) and for log of 0, division by 0 or a mean over an "
                       "empty selection in the loss function",
    "non_finite_inputs": "the first layer's output was the first to be non-finite, so look for a NaN/Inf in that "
                         "step's input batch",
    "unsafe_op": "the layers before it were finite, so look for log, sqrt, division or exp inside it or applied to "
                 "its input in the parent module's forward (a functional call between two layers, which a run "
                 "cannot tell apart)",
    "non_finite_parameters": "already held NaN/Inf when watching began: reload an earlier checkpoint or "
                             "re-initialise them",
}
#: ... and when only the gradients are non-finite.
BACKWARD_HINT = ("an operation whose derivative is infinite where it was evaluated: sqrt or a norm of a vector "
                 "that can be 0, pow with an exponent below 1 at 0, or a NaN branch masked by torch.where")


#: Steps before the first non-finite one searched for a gradient-norm growth, and the growth that points at the
#: learning rate (the defaults of :class:`NonFinite`'s ``growth_window`` and ``growth_factor``).
GROWTH_WINDOW = 5
GROWTH_FACTOR = 10.0


def nonfinite_onset(ctx: Context, growth_window: int = GROWTH_WINDOW,
                    growth_factor: float = GROWTH_FACTOR) -> dict[str, Any] | None:
    """Where and how a run's first NaN/Inf appeared; None when it has none.

    Returns ``col`` (the first step column with a non-finite loss, gradient or layer output), ``bad_layers``
    (indices, forward order, of the layers whose output is non-finite there), ``origin`` (the first of them,
    ``"<loss>"`` when only the loss is, None when only the gradients are), ``growth`` (the gradient-norm growth
    over the ``growth_window`` steps before, when above ``growth_factor``, else None), ``weight_growth`` (the
    same for the weight norms since the first step, median over layers), ``first_update`` (median relative
    update of the first step; NaN when the first NaN/Inf is in that step, whose forward and backward ran before
    that update) and ``sudden``: the NaN/Inf appeared in the forward pass (a layer output or the loss) while
    neither the gradient norm nor the weights had grown and the first update was not oversized. Finite gradients
    and a finite learning rate leave finite weights, so such a NaN comes from what the step computed on: its
    batch (the first layer's output, or the targets through the loss), or an unsafe operation, not from an
    exploding gradient. A single NaN label in a regression set gave "exploding_gradient, cause gradient_cliff,
    clip_grad_norm" (tests/regressions/test_qa4_diag_nan_data_not_exploding.py)."""
    if ctx.n_steps == 0:
        return None
    out_nf, act_nf = ctx.stat("out_nonfinite"), ctx.stat("act_nonfinite")
    with np.errstate(invalid="ignore"):
        # NaN (not measured) compares False, Inf True: no float copy of the layers x steps arrays
        layer_bad_any = ((out_nf > 0) | (act_nf > 0)).any(axis=0)
        loss_bad = ctx.loss_nonfinite()
        grad_bad = np.nan_to_num(ctx.step_stat("nonfinite_grads")) > 0
    cols = np.where(layer_bad_any | loss_bad | grad_bad)[0]
    if cols.size == 0:
        return None
    c = int(cols[0])
    with np.errstate(invalid="ignore"):
        bad_layers = [i for i in range(len(ctx.layers)) if out_nf[i, c] > 0 or act_nf[i, c] > 0]
    origin = ctx.layers[bad_layers[0]].name if bad_layers else "<loss>" if loss_bad[c] else None
    g = ctx.step_stat("total_grad_norm")
    prev = g[max(0, c - growth_window):c]
    prev = prev[np.isfinite(prev)]
    growth = float(prev[-1] / prev[0]) if prev.size >= 2 and prev[-1] > growth_factor * prev[0] else None
    upd = ctx.stat("update_ratio")
    # The first update is a learning-rate sign only for a NaN/Inf that came after it: step c's forward and
    # backward run before step c's update, so at c == 0 that update is the NaN step's own (an unsafe op's huge
    # derivative moved a layer by 14 % of its weights while the op made 0/0: tests/regressions/
    # test_qa7_diag_nan_step0_not_lr.py)
    first_update = float(nanmedian(upd[:, 0])) if upd.shape[1] and c > 0 else float("nan")
    # weights that grew by growth_factor since the first step (median over layers, last measurement before c):
    # a learning rate that inflates them slowly (Adam's bounded steps) until an output overflows
    wn = ctx.stat("weight_norm")[:, :c]
    measured = np.where(np.isfinite(wn).any(axis=0))[0]
    weight_growth = None
    if measured.size >= 2:
        with np.errstate(all="ignore"):
            wg = float(nanmedian(wn[:, measured[-1]] / wn[:, measured[0]]))
        weight_growth = wg if wg > growth_factor else None
    sudden = origin is not None and growth is None and weight_growth is None \
        and not first_update > FIRST_UPDATE_TOO_LARGE
    return {"col": c, "bad_layers": bad_layers, "origin": origin, "growth": growth, "weight_growth": weight_growth,
            "first_update": first_update, "sudden": sudden}


@register
class NonFinite(Detector):
    """In a check: the origin found by forward hooks on every module (the first module, in forward execution
    order, whose output holds NaN/Inf), ``"<input>"`` when the batch already does, ``"<loss>"`` when only the
    loss does, and the first numerically unsafe op (log, sqrt, division, exp, pow...) whose output is
    non-finite while its inputs are finite. In a run: the first step with a non-finite loss, layer output or
    gradient, and the first layer (forward order) with a non-finite output at that step.

    Any NaN/Inf is a problem, so there is no threshold; ``growth_window`` sets how many steps before the first
    non-finite one are searched for a gradient-norm growth (which makes the learning rate the likely cause).

    Args:
        growth_window: steps before the first non-finite step examined for growth (5).
        growth_factor: gradient-norm growth over that window that points at the learning rate (10).
    """

    name = "non_finite"

    def __init__(self, growth_window: int = GROWTH_WINDOW, growth_factor: float = GROWTH_FACTOR) -> None:
        self.growth_window = growth_window
        self.growth_factor = growth_factor

    def detect(self, ctx: Context) -> list[Finding]:
        if ctx.source == "check":
            return self._from_check(ctx)
        return self._from_run(ctx)

    # ------------------------------------------------------------------ check
    def _from_check(self, ctx: Context) -> list[Finding]:
        nf = ctx.extra.get("nonfinite") or {}
        origin = nf.get("origin")
        if origin is None and not nf.get("gradients"):
            return []
        ev: dict[str, Any] = {k: v for k, v in nf.items() if k != "origin" and v is not None}
        names = {x.name for x in ctx.layers}
        born_bad = [n for n in ctx.meta.get("nonfinite_parameters") or [] if n in names]
        causes: list[str] = []
        if born_bad:  # the weights as given: nothing in the pass made them
            ev["nonfinite_parameters_at_start"] = born_bad
            causes.append("non_finite_parameters")
        if origin == "<input>":
            causes.append("non_finite_inputs")
        if nf.get("unsafe_op"):
            causes.append("unsafe_op")
        if origin not in (None, "<input>", "<loss>") and not nf.get("unsafe_op") and not born_bad:
            causes.append("init_scale_too_large")
        if origin == "<loss>" and not causes:
            causes.append("non_finite_loss")  # every module output finite: the targets or the loss function
        if origin is None and not causes:
            causes.append("unsafe_op")  # a finite loss and outputs, non-finite gradients: an infinite derivative
        if not causes:
            causes.append("unknown")
        layers = born_bad or ([origin] if origin and not origin.startswith("<") else [])
        if origin is None and ctx.n_steps:  # only the gradients: name their layers, as a run does
            gnf = np.nan_to_num(ctx.stat("grad_nonfinite")).max(axis=1)
            ev["layers_nonfinite_grad"] = [ctx.layers[i].name for i in range(len(ctx.layers)) if gnf[i] > 0]
            layers = list(ev["layers_nonfinite_grad"])
        where = origin or "the gradients"
        msg = f"the first NaN/Inf appears at {where}"
        tgt = nf.get("targets") or {}
        if born_bad:
            msg += (f": the parameters of {', '.join(born_bad[:5])} already held NaN/Inf before the check: reload an "
                    "earlier checkpoint or re-initialise them")
        elif nf.get("unsafe_op"):
            op = nf["unsafe_op"]
            module = op.get("module")
            msg += f", produced by {op.get('op')} " + ("in the loss function (loss_fn)" if module == "<loss>"
                                                        else f"inside {module}")
        elif causes == ["non_finite_loss"] and tgt.get("nonfinite"):
            msg += (f": every layer output was finite and the targets hold {tgt['nonfinite']} NaN/Inf "
                    f"value{'s' if tgt['nonfinite'] != 1 else ''}, "
                    f"the first in row {tgt.get('first_row')}: drop or repair those samples (a missing label)")
        elif causes == ["non_finite_loss"]:
            msg += ": " + SUDDEN_HINT["non_finite_loss"]
        elif origin is None and causes == ["unsafe_op"]:
            msg += ", with a finite loss and module outputs: " + BACKWARD_HINT
        return [Finding(kind="non_finite", severity="critical", layers=layers, origin=origin, evidence=ev,
                        causes=causes, remedies=rank_remedies(causes, "non_finite"), message=msg,
                        detector=self.name)]

    # ------------------------------------------------------------------ run
    def _from_run(self, ctx: Context) -> list[Finding]:
        on = nonfinite_onset(ctx, self.growth_window, self.growth_factor)
        if on is None:
            return []
        c, bad_layers, origin = on["col"], on["bad_layers"], on["origin"]
        loss, ngrad = ctx.step_stat("loss"), ctx.step_stat("nonfinite_grads")
        ev: dict[str, Any] = {"first_step": int(ctx.steps[c]), "loss": fnum(loss[c]),
                              "nonfinite_grads": fnum(ngrad[c]),
                              "layers_nonfinite_output": [ctx.layers[i].name for i in bad_layers]}
        if origin is None:
            gnf = ctx.stat("grad_nonfinite")[:, c]
            ev["layers_nonfinite_grad"] = [ctx.layers[i].name for i in range(len(ctx.layers))
                                           if np.isfinite(gnf[i]) and gnf[i] > 0]
        causes: list[str] = []
        if on["growth"] is not None:
            causes.append("learning_rate_too_high")
            ev["grad_norm_growth_before"] = fnum(on["growth"])
        if on["weight_growth"] is not None:
            ev["weight_growth_before"] = fnum(on["weight_growth"])
        if (on["first_update"] > FIRST_UPDATE_TOO_LARGE or on["weight_growth"] is not None) \
                and "learning_rate_too_high" not in causes:
            causes.append("learning_rate_too_high")
        ev["sudden"] = on["sudden"]
        born_bad = [n for n in ctx.meta.get("nonfinite_parameters") or [] if n in {x.name for x in ctx.layers}]
        if born_bad:  # no step made them: the weights were loaded that way
            ev["nonfinite_parameters_at_start"] = born_bad
            causes.insert(0, "non_finite_parameters")
        elif on["sudden"]:  # finite weights met something non-finite in this step's forward pass
            first = next((i for i in range(len(ctx.layers)) if not ctx.is_container(i)), None)
            causes.append("non_finite_loss" if origin == "<loss>" else
                          "non_finite_inputs" if bad_layers and bad_layers[0] == first else "unsafe_op")
        elif origin is None and not causes:
            # the loss and every output finite, the gradients not, without growth: an operation whose derivative
            # is infinite where it was evaluated (sqrt or a norm at 0)
            causes.append("unsafe_op")
        if not causes:
            causes.append("unknown")
        layers = [ctx.layers[i].name for i in bad_layers] or ev.get("layers_nonfinite_grad", [])
        # watch(every=N): the steps between two recorded ones are not seen, so the first NaN/Inf recorded at step
        # s may have appeared at any step after the last recorded finite one, and a NaN batch there has already
        # made the weights NaN by step s (tests/regressions/test_qa7_diag_nan_between_recorded_steps.py)
        last_finite = int(ctx.steps[c - 1]) if c > 0 and int(ctx.steps[c]) - int(ctx.steps[c - 1]) > 1 else None
        where = (f" in {origin}" if origin else " in the gradients")
        if last_finite is None:
            msg = f"the first NaN/Inf appears at step {int(ctx.steps[c])}" + where
        else:
            ev["last_finite_step"] = last_finite
            msg = (f"the first NaN/Inf recorded is at step {int(ctx.steps[c])}{where}; it appeared at one of steps "
                   f"{last_finite + 1}-{int(ctx.steps[c])} (the steps between recorded ones are not seen)")
        if born_bad:
            msg += f": the parameters of {', '.join(born_bad[:5])} " + SUDDEN_HINT["non_finite_parameters"]
        elif on["sudden"]:
            # at the first recorded step there is no gradient norm before it to call steady
            hint = SUDDEN_HINT.get(causes[-1], "")
            if last_finite is not None:  # "that step's input batch": any batch of the unseen steps
                hint = hint.replace("that step's input batch", f"the input batches of steps {last_finite + 1}-"
                                                               f"{int(ctx.steps[c])}")
            msg += ((", with a steady gradient norm before it: " if c > 0 else ", at the first recorded step: ")
                    + hint)
        elif causes == ["unsafe_op"]:
            msg += ", with a finite loss and layer outputs: " + BACKWARD_HINT
        kind = "non_finite" if on["sudden"] or causes == ["unsafe_op"] else "exploding_gradient"
        return [Finding(kind="non_finite", severity="critical", layers=layers, origin=origin,
                        step=int(ctx.steps[c]), evidence=ev, causes=causes,
                        remedies=rank_remedies(causes, kind), message=msg, detector=self.name)]
