"""What repair can see that a recorded run cannot: the data and one forward pass at initialisation.

A run store records layer outputs, not the raw inputs or the functional operations inside ``forward``, so
NaN that comes with the data shows up there as "the first layer's output" and NaN from ``log(0)`` as the
layer after it. :func:`audit` checks the recipe itself before the trials:

- non-finite values in the training inputs -> ``non_finite`` with origin ``"<input>"``, cause
  ``non_finite_inputs``, remedy ``sanitize_inputs``;
- non-finite values in floating-point training targets of a run that went non-finite -> ``non_finite`` with origin ``"<loss>"``, cause
  ``non_finite_loss`` and no remedy (no change of the model or the optimizer fixes a NaN label; repair then
  stops with ``stopped == "no_remedy"`` and says which samples);
- finite inputs but a non-finite output of the freshly built model on one batch -> ``non_finite``, cause
  ``unsafe_op``, remedies ``guard_unsafe_op`` then ``sanitize_inputs``;
- a run that went non-finite (a ``non_finite`` problem among ``findings``) whose model calls log, sqrt,
  rsqrt or exp in its forward -> ``non_finite``, cause ``unsafe_op``, remedy ``guard_unsafe_op`` (the
  operation is a suspect; the trial decides);
- a vanishing-gradient problem whose remedies do not include ``use_relu_family`` while the model's forward
  calls sigmoid/tanh-family activations as functions (``torch.sigmoid(x)``, ``F.tanh(x)``) on hidden layers
  -> ``vanishing_gradient`` with the same severity and axis, cause ``saturating_activation``, remedies
  ``use_relu_family`` then ``xavier_init``: the run store records activation modules only, so the diagnosis
  cannot see functional ones and blames the depth alone.

The findings (detector ``"repair.audit"``) join the diagnosis' findings when ranking the remedies.
"""
from __future__ import annotations

import torch

from ..diagnosis.findings import Finding
from .case import Case, _is_pair
from .remedies.base import probe_run

#: Training samples scanned for NaN/Inf (all of them for tensors up to this size).
MAX_SCAN = 100_000


def _float_tensors(x: object) -> list[torch.Tensor]:
    """The floating-point tensors of a batch's inputs: one tensor, or those inside the tuple, list or dict that a
    model with several inputs takes."""
    if isinstance(x, torch.Tensor):
        return [x] if x.is_floating_point() and x.numel() else []
    if isinstance(x, dict):
        x = list(x.values())
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _float_tensors(v)]
    return []


def _nonfinite_share(case: Case) -> float:
    """Share of NaN/Inf among the floating-point training input values (every input of a model with several)."""
    if _is_pair(case.train):
        x: object = case.train[0][:MAX_SCAN]
    else:
        x = case.sample_batch()[0]
    tensors = _float_tensors(x)
    total = sum(t.numel() for t in tensors)
    if not total:
        return 0.0
    return sum(float((~torch.isfinite(t)).sum()) for t in tensors) / total


def _nonfinite_targets(case: Case) -> tuple[float, int | None]:
    """Share of NaN/Inf among the floating-point training targets (all of them for tensors up to
    :data:`MAX_SCAN` samples, else one batch) and the first sample holding one (tensors only)."""
    y = case.train[1][:MAX_SCAN] if _is_pair(case.train) else case.sample_batch()[1]
    if not isinstance(y, torch.Tensor) or not y.is_floating_point() or y.numel() == 0:
        return 0.0, None
    bad = ~torch.isfinite(y)
    if not bool(bad.any()):
        return 0.0, None
    row = int(bad.reshape(bad.shape[0], -1).any(dim=1).nonzero()[0, 0]) if _is_pair(case.train) and bad.dim() else None
    return float(bad.float().mean()), row


def audit(case: Case, findings: list[Finding] | None = None) -> list[Finding]:
    """Findings about the recipe's data and its model's first forward pass (possibly none), given the
    baseline's ``findings``."""
    share = _nonfinite_share(case)
    if share > 0:
        return [Finding(kind="non_finite", severity="critical", origin="<input>", step=0,
                        evidence={"nonfinite_input_share": share}, causes=["non_finite_inputs"],
                        remedies=["sanitize_inputs"], detector="repair.audit",
                        message=f"{share:.2%} of the training input values are NaN/Inf")]
    went_nan = any(f.kind == "non_finite" and f.is_problem for f in findings or [])
    # only when the run went NaN: a loss may mask missing labels on purpose (y[~torch.isnan(y)])
    tshare, row = _nonfinite_targets(case) if went_nan else (0.0, None)
    if tshare > 0:
        where = f" (the first in sample {row})" if row is not None else ""
        return [Finding(kind="non_finite", severity="critical", origin="<loss>", step=0,
                        evidence={"nonfinite_target_share": tshare, "first_sample": row},
                        causes=["non_finite_loss"], remedies=[], detector="repair.audit",
                        message=f"{tshare:.2%} of the training target values are NaN/Inf{where}: every loss "
                        "over them is NaN, whatever the model; drop those samples or fill the targets in")]
    x, _ = case.sample_batch()
    with torch.random.fork_rng(devices=[]):
        model = case.build_model()
        try:
            out = probe_run(model, x)
        except Exception:  # a model that cannot run is the trials' problem to report, not the audit's
            return []
    if isinstance(out, torch.Tensor) and out.is_floating_point() and not bool(torch.isfinite(out).all()):
        return [Finding(kind="non_finite", severity="critical", step=0,
                        evidence={"nonfinite_output_share": float((~torch.isfinite(out)).float().mean())},
                        causes=["unsafe_op"], remedies=["guard_unsafe_op", "sanitize_inputs"],
                        detector="repair.audit",
                        message="the freshly built model already outputs NaN/Inf on finite inputs: an operation "
                        "in its forward is numerically unsafe")]
    if went_nan and _unsafe_calls(model, x):
        return [Finding(kind="non_finite", severity="warning", step=None, causes=["unsafe_op"],
                        remedies=["guard_unsafe_op"], detector="repair.audit",
                        message="the run went NaN/Inf and the model's forward calls log/sqrt/exp, whose inputs can "
                        "leave their safe range")]
    vanishing = [f for f in findings or [] if f.kind == "vanishing_gradient" and f.is_problem and f.axis != "time"
                 and "use_relu_family" not in f.remedies]
    hidden = _hidden_saturating_calls(model, x) if vanishing else 0
    if hidden:
        worst = max(vanishing, key=lambda f: f.severity == "critical")
        return [Finding(kind="vanishing_gradient", severity=worst.severity, axis=worst.axis, layers=list(worst.layers),
                        step=worst.step, evidence={"hidden_functional_activations": hidden},
                        causes=["saturating_activation"], remedies=["use_relu_family", "xavier_init"],
                        detector="repair.audit",
                        message=f"the model's forward calls {hidden} hidden sigmoid/tanh-family activation(s) as "
                        "functions (torch.sigmoid, F.tanh, ...), which the run's statistics do not see: their "
                        "derivative (at most 1/4 for sigmoid) shrinks the gradient at every layer")]
    return []


def _hidden_saturating_calls(model: torch.nn.Module, x: object) -> int:
    """Functional sigmoid/tanh-family calls in one forward pass, except the one that makes the output and the
    gates (a hand-written LSTM cell's ``sigmoid(f) * c``)."""
    from .remedies.activation import _record_calls, _targets

    try:
        return len(_record_calls(model, x, _targets("use_relu_family")).hidden())
    except Exception:
        return 0


def _unsafe_calls(model: torch.nn.Module, x: object) -> int:
    from .remedies.guard import _Guard

    guard = _Guard()
    try:
        with guard:
            probe_run(model, x)
    except Exception:
        return 0
    return guard.hits
