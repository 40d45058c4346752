"""Repair with proof: apply the remedies the diagnosis ranks, train each under the same conditions and keep
the one that measurably fixes the run.

    result = gd.repair(case, budget_s=120, seeds=2)
    result.baseline, result.trials, result.best, result.model, result.to_dict()
"""
from __future__ import annotations

import math
import numbers
import sys
import time
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from torch import nn

from ..present.repair_view import APPLY_FAILED
from .case import Case, CaseError
from .remedies import REGISTRY, NotApplicable, Remedy, RepairContext, get_remedy
from .result import RepairResult
from .trials import Trial, run_seed

#: A remedy must beat the baseline's mean metric by more than max(seed-to-seed spread, MIN_GAIN):
#: one point of accuracy, so that a single seed (no spread measured) cannot win on noise alone. Used for
#: accuracy and for user metrics (``metric_fn``), whose scale graddoctor cannot know.
MIN_GAIN = 0.01
#: For the ``-loss`` metric (regression without a ``metric_fn``) the floor is relative instead: the validation
#: loss must fall by more than this fraction of the baseline's. A loss has the units of its targets (an MSE
#: scales with their square), so any absolute floor is wrong somewhere: MIN_GAIN = 0.01 was 1 % of an MSE of 1
#: but twice a whole MSE of 0.005, which no improvement could ever beat. 5 % plays the accuracy point's role (one
#: point off a 30 % error rate is a 3 % relative cut): below a few percent a single seed's loss moves on
#: initialisation noise alone (small tanh-MLP regression recipes: seed-to-seed std of the final validation loss
#: 0.6-23 % of it, median 9 %, over 2-4 seeds). A floor only: with two or more seeds the spread usually decides.
MIN_RELATIVE_LOSS_GAIN = 0.05
#: Candidate order when no diagnosis is available (AutoTrainer's fixed order, Zhang et al. 2021).
FALLBACK_ORDER = ("use_relu_family", "add_batchnorm", "clip_grad_norm", "he_init", "lower_learning_rate", "use_adam")
#: Recorded steps per trial when ``watch_every`` is not given: every step up to this many, else every n-th
#: step so that about this many are recorded (the diagnosis needs tens of steps; recording every step of a
#: tiny model triples its training time).
RECORDED_STEPS = 100
#: Share of the seeds in which the targeted finding must be gone for the remedy to count as fixing it.
FIX_MAJORITY = 0.5

__all__ = ["repair", "RepairResult", "Trial", "Case", "CaseError", "NotApplicable", "REGISTRY", "get_remedy",
           "rank_remedies", "MIN_GAIN", "MIN_RELATIVE_LOSS_GAIN", "default_min_gain"]


def rank_remedies(findings: Sequence[Any]) -> list[str]:
    """Remedy codes of the problem findings, most severe finding first, each finding's own order kept."""
    order = {"critical": 0, "warning": 1}
    out: list[str] = []
    for f in sorted([f for f in findings if f.is_problem], key=lambda f: order.get(f.severity, 2)):
        for code in f.remedies:
            if code not in out:
                out.append(code)
    return out


def default_min_gain(metric_name: str, baseline_loss: float) -> float:
    """The smallest metric gain that can win when ``repair(min_gain=None)``: :data:`MIN_RELATIVE_LOSS_GAIN` of
    the baseline's validation loss for the ``-loss`` metric, :data:`MIN_GAIN` otherwise (accuracy, user
    metrics, or a baseline whose loss is not finite: then any finite loss is an infinite gain)."""
    if metric_name == "-loss" and math.isfinite(baseline_loss):
        return MIN_RELATIVE_LOSS_GAIN * abs(baseline_loss)
    return MIN_GAIN


def _key(f: Any) -> tuple[str, str | None]:
    return (f.kind, f.axis)


def fixes(trial: Trial, targeted: set[tuple[str, str | None]]) -> bool | None:
    """Whether the targeted findings are gone in at least FIX_MAJORITY of the trial's seeds."""
    if not targeted or not trial.findings_by_seed or all(f is None for f in trial.findings_by_seed):
        return None
    gone = [not ({_key(f) for f in fs if f.is_problem} & targeted) for fs in trial.findings_by_seed if fs is not None]
    return sum(gone) >= FIX_MAJORITY * len(gone) and any(gone)


class _Progress:
    """Rich progress bars (or nothing)."""

    def __init__(self, enabled: bool, console: Any) -> None:
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=console, transient=False)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def task(self, name: str, total: int) -> Callable[[int], None]:
        if self.bar is None:
            return lambda n: None
        tid = self.bar.add_task(name, total=total)
        bar = self.bar
        return lambda n: bar.advance(tid, n)


def _train(trial: Trial, case: Case, seeds: list[int], prog: _Progress, keep: bool, **kw: Any) -> nn.Module | None:
    tick = prog.task(trial.name, case.steps * len(seeds))
    model = None
    for i, s in enumerate(seeds):
        r = run_seed(case, s, keep_model=keep and i == 0, tick=tick, **kw)
        trial.add(r)
        if i == 0:
            model = r.model
    return model


def repair(case: Case, budget_s: float = 120.0, seeds: int | Sequence[int] = 2,
           train_fn: Callable[[nn.Module, Case], Any] | None = None,
           remedies: Sequence[str | Remedy] | str | Remedy | None = None, *, min_gain: float | None = None,
           progress: bool = True, console: Any = None, watch_every: int | None = None,
           max_trials: int | None = None, on_trial: Callable[[Trial], None] | None = None) -> RepairResult:
    """Find the remedy that measurably repairs a training recipe, by controlled trials.

    Trains the baseline, diagnoses it, then applies the remedies the diagnosis ranks (best first, the next
    ones while the budget lasts), each trained from the same seeds, data order and step count, and measures
    validation loss and metric, first-layer update speed and gradient health. A remedy wins only if its
    mean metric beats the baseline's by more than ``max(seed-to-seed spread, min_gain)`` and it fixes the
    finding it targets (that finding is gone after training in most seeds). Ctrl-C stops cleanly and
    returns what was measured.

    Args:
        case: the recipe (:class:`graddoctor.Case`).
        budget_s: time budget in seconds; a candidate starts only if its expected time still fits (the first
            candidate always runs).
        seeds: number of seeds (0, 1, ...) or an explicit list of distinct seeds; every trial uses the same ones.
        train_fn: your own loop, ``train_fn(model, case) -> metrics`` (a dict with ``metric``/``loss``, a
            float metric, or None to evaluate ``case.val``). Build the optimizer with
            ``case.make_optimizer(model.parameters())`` and batches with ``case.batches()`` (the trial's
            seed) so recipe remedies (optimizer, clipping, warm-up) reach it and each seed has its own order.
        remedies: codes (or ``"code:variant"``, or Remedy objects) to try in this order instead of the
            diagnosis' ranking; trials then run even when the baseline looks healthy. One code alone may be
            given as a string.
        min_gain: smallest metric gain that can win; ``None`` (default): :func:`default_min_gain`, i.e.
            :data:`MIN_GAIN` for accuracy and user metrics, :data:`MIN_RELATIVE_LOSS_GAIN` of the baseline's
            validation loss for ``-loss``. A number is an absolute gain of the metric, whatever it is.
        progress: show rich progress bars.
        console: a rich Console for the bars.
        watch_every: record every n-th step in the trials' watched runs (default: about
            :data:`RECORDED_STEPS` recorded steps per run).
        max_trials: stop after this many remedies have trained (``None``: only the budget limits them; 0: the
            baseline alone, trained and diagnosed).
        on_trial: called with each finished trial (for live tables).

    Returns:
        A :class:`RepairResult`.

    Raises:
        CaseError: ``case`` is not a Case, no seed or a seed given twice, a negative or NaN ``budget_s`` or
            ``min_gain``, a ``max_trials`` below 0 or ``watch_every`` below 1, or an error of the recipe itself
            (the baseline is the recipe as given).
        ValueError: an unknown remedy code or variant.
    """
    if not isinstance(case, Case):
        raise CaseError(f"repair() needs a graddoctor.Case, got {type(case).__name__}; build one with "
                        "gd.Case(model_fn=..., train=(X, y), ...)")
    seed_list = _seed_list(seeds)
    _check_limits(budget_s, max_trials, min_gain, watch_every)
    if isinstance(remedies, (str, Remedy)):  # one remedy: "he_init" is not the codes "h", "e", ...
        remedies = [remedies]
    explicit = [get_remedy(r) for r in remedies] if remedies is not None else None
    names = [r.name for r in explicit or []]
    twice = [n for i, n in enumerate(names) if n in names[:i]]
    if twice:  # same seeds, same numbers: a second trial of it costs its time and proves nothing new
        raise CaseError(f"remedies lists {twice[0]!r} more than once ({', '.join(names)}); give each remedy once")
    t0 = time.time()
    every = watch_every if watch_every is not None else max(1, case.steps // RECORDED_STEPS)
    kw = {"train_fn": train_fn, "watch_every": int(every)}
    result = RepairResult(baseline=Trial(remedy=None), metric_name=case.metric_name, budget_s=float(budget_s),
                          max_trials=max_trials)
    with _Progress(progress, console) as prog:
        try:
            _train(result.baseline, case, seed_list, prog, keep=False, **kw)
            result.constant_loss = case.constant_loss()
            result.chance_metric = case.chance_accuracy()
            limits = (budget_s, max_trials if max_trials is not None else 10**9)
            floor = min_gain if min_gain is not None else default_min_gain(result.metric_name,
                                                                           result.baseline.loss)
            _run_candidates(result, case, seed_list, prog, explicit, limits, floor, t0, on_trial, kw)
        except KeyboardInterrupt:
            result.stopped = "interrupted"
    result.seconds = time.time() - t0
    return result


def _seed_list(seeds: Any) -> list[int]:
    """``seeds`` as a list of distinct ints: a count ``n`` (seeds ``0 .. n-1``) or the seeds themselves.

    Raises:
        CaseError: no seed, a count or seed that is not a whole number, or a seed given twice (its runs are
            identical, so the seed-to-seed spread a remedy must beat would be measured on one run twice).
    """
    if isinstance(seeds, numbers.Number) and not isinstance(seeds, bool):
        if not (isinstance(seeds, numbers.Integral) or (isinstance(seeds, float) and seeds.is_integer())):
            raise CaseError(f"seeds must be a whole number of seeds >= 1 or a list of seeds, got {seeds!r}")
        out = list(range(int(seeds)))
    elif isinstance(seeds, Iterable) and not isinstance(seeds, (str, bytes)):
        out = list(seeds)
        wrong = [s for s in out if isinstance(s, bool) or not isinstance(s, numbers.Integral)]
        if wrong:
            raise CaseError(f"seeds must be whole numbers, got {wrong[0]!r} ({type(wrong[0]).__name__}) in {out!r}")
        out = [int(s) for s in out]
        twice = sorted({s for s in out if out.count(s) > 1})
        if twice:
            raise CaseError(f"seeds {out} give seed {twice[0]} more than once: its runs are identical, so the "
                            "seed-to-seed spread a remedy must beat would be measured on one run twice; give "
                            "distinct seeds")
    else:
        raise CaseError(f"seeds must be a number of seeds (e.g. 2) or a list of seeds, got {type(seeds).__name__}")
    if not out:
        raise CaseError(f"seeds must be at least 1 (or a non-empty list of seeds), got {seeds!r}")
    return out


def _check_limits(budget_s: Any, max_trials: Any, min_gain: Any, watch_every: Any) -> None:
    """Reject limits that would silently do something else (a NaN budget never stops, a negative ``min_gain``
    lets a remedy win by losing).

    Raises:
        CaseError: naming the argument, the value and what it must be.
    """
    def real(v: Any) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)

    if not (real(budget_s) or budget_s == math.inf) or budget_s < 0:
        raise CaseError(f"budget_s must be a number of seconds >= 0 (math.inf: no limit), got {budget_s!r}")
    if min_gain is not None and (not real(min_gain) or min_gain < 0):
        raise CaseError(f"min_gain must be a metric gain >= 0, or None for the default, got {min_gain!r}")
    for name, v in (("max_trials", max_trials), ("watch_every", watch_every)):
        least = 0 if name == "max_trials" else 1
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < least):
            raise CaseError(f"{name} must be a whole number >= {least}, or None, got {v!r}")


def _candidates(result: RepairResult, explicit: list[Remedy] | None) -> list[str | Remedy]:
    findings = result.baseline.findings
    if explicit is not None:
        result.candidates = [r.name for r in explicit]
        return list(explicit)
    if findings is None:
        result.candidates = list(FALLBACK_ORDER)
        return list(FALLBACK_ORDER)
    result.guided = True
    result.candidates = rank_remedies(findings)
    if not result.candidates:
        # problems whose cause no remedy addresses (a NaN label: cause non_finite_loss) are not "healthy"
        result.stopped = "no_remedy" if any(f.is_problem for f in findings) else "healthy"
    return list(result.candidates)


def _all_seeds(trial: Trial) -> list[Any]:
    """The first seed's findings, then each problem that only a later seed showed (a (kind, axis) not yet among
    the problems): a baseline whose second seed exploded was "healthy" when its first seed was clean."""
    out = list(trial.findings or [])
    seen = {_key(f) for f in out if f.is_problem}
    for fs in trial.findings_by_seed[1:]:
        for f in fs or []:
            if f.is_problem and _key(f) not in seen:
                out.append(f)
                seen.add(_key(f))
    return out


def _targeted(result: RepairResult, code: str) -> set[tuple[str, str | None]]:
    probs = [f for f in (result.baseline.findings or []) if f.is_problem]
    aimed = {_key(f) for f in probs if code in f.remedies}
    return aimed or {_key(f) for f in probs}


def _run_candidates(result: RepairResult, case: Case, seeds: list[int], prog: _Progress,
                    explicit: list[Remedy] | None, limits: tuple[float, int], min_gain: float, t0: float,
                    on_trial: Callable[[Trial], None] | None, kw: dict[str, Any]) -> None:
    base = result.baseline
    from .audit import audit

    if base.findings is not None:  # rank, target and judge health on every seed's problems, not the first's only
        base.findings = _all_seeds(base)
    extra = audit(case, base.findings)
    if extra:
        base.findings = [*extra, *(base.findings or [])]
    ctx = RepairContext(baseline=base.data, findings=list(base.findings or []),
                        sample=case.sample_batch())
    per_trial = base.seconds
    budget_s, max_trials = limits
    for spec in _candidates(result, explicit):
        code = spec.code if isinstance(spec, Remedy) else str(spec).partition(":")[0]
        trial = Trial(remedy=code, variant=spec.variant if isinstance(spec, Remedy) else None)
        if result.tried and time.time() - t0 + per_trial > budget_s:
            result.stopped = "budget"
            break
        if len(result.tried) >= max_trials:
            result.stopped = "max_trials"
            break
        result.trials.append(trial)
        try:
            remedy = spec if isinstance(spec, Remedy) else get_remedy(spec)
            trial.variant = remedy.variant
            new_case = remedy.apply(case, ctx)
        except (NotApplicable, ValueError) as e:
            trial.skipped = str(e) if code in REGISTRY else f"graddoctor cannot apply {code} automatically"
            continue
        except Exception as e:  # applying it broke (e.g. the transformed model's probe raised): the next one
            trial.failed = f"{type(e).__name__} {APPLY_FAILED}: {e}"
            if on_trial is not None:
                on_trial(trial)
            continue
        trial.changes = list(new_case.changes[len(case.changes):])
        try:
            model = _train(trial, new_case, seeds, prog, keep=True, **kw)
        except Exception as e:  # the remedy broke the recipe: keep what was measured so far, try the next one
            trial.failed = f"{type(e).__name__}: {e}"
            if on_trial is not None:
                on_trial(trial)
            continue
        _judge(result, trial, base, min_gain, model, new_case)
        if on_trial is not None:
            on_trial(trial)


def _judge(result: RepairResult, trial: Trial, base: Trial, min_gain: float, model: nn.Module | None,
           new_case: Case) -> None:
    b = base.metric if math.isfinite(base.metric) else -math.inf
    trial.margin = max(base.spread, trial.spread, min_gain)
    trial.gain = trial.metric - b if math.isfinite(trial.metric) else -math.inf
    trial.fixes = fixes(trial, _targeted(result, str(trial.remedy)))
    if math.isfinite(result.constant_loss):  # a model no better than a constant output learned nothing...
        # ...unless its accuracy is above the best constant prediction's by more than the margin (an overconfident
        # model can be right most of the time with a cross-entropy above ln C)
        above_chance = math.isfinite(result.chance_metric) and trial.metric - result.chance_metric > trial.margin
        trial.learns = bool(trial.loss < result.constant_loss or above_chance)
    wins = trial.gain > trial.margin and trial.fixes is not False and trial.learns is not False
    # A later (lower-ranked) candidate displaces the current winner only when it is better by more than the
    # spread too: the diagnosis' order breaks ties that the seeds cannot resolve.
    best = result.best
    if wins and (best is None or trial.metric - best.metric > max(best.spread, trial.spread, min_gain)):
        result.best, result.model, result.case = trial, model, new_case


class _CallableModule(types.ModuleType):
    """``graddoctor.repair`` is both this package and the function ``gd.repair``: once a submodule such as
    ``graddoctor.repair.case`` is imported, Python binds the package to the attribute ``graddoctor.repair``,
    shadowing the lazily exported function. Calling the package therefore calls :func:`repair`."""

    def __call__(self, *args: Any, **kwargs: Any) -> RepairResult:
        return repair(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
