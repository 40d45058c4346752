"""The before/after view of a repair: a table of the baseline and each trial, and their curves overlaid.

Reads ``RepairResult.to_dict()`` (``baseline``, ``trials``, ``best``; each entry with ``remedy`` (None for
the baseline), ``metric``, ``loss``, ``findings``, ``seeds``). Optional per-trial numbers are shown when
present; curves are drawn from the first of :data:`CURVE_KEYS` an entry holds. Nothing is computed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .explain import describe_remedy, fmt_num

#: Keys under which a trial may carry curves (a list of numbers, a list of per-seed lists, or a dict of
#: name -> list). The first one found is drawn.
CURVE_KEYS = ("curves", "history", "curve", "loss_curve", "losses", "train_loss", "val_loss")
#: Why no remedy won when the baseline shows no problem: none was tried (not "no remedy beat the baseline").
HEALTHY_REASON = "the baseline shows no gradient problem (no warning or critical finding), so no remedy was tried"
#: The outcome when the baseline shows no problem.
HEALTHY_VERDICT = f"{HEALTHY_REASON[:1].upper()}{HEALTHY_REASON[1:]}; the model is left as it was."
#: Optional per-entry numbers shown as columns when present: (key, heading). ``learns``: the validation loss is
#: below a constant output's (``Trial.learns``; "no" is the terminal's verdict "learns nothing").
EXTRA_COLUMNS = (("first_layer_speed", "1st-layer ‖ΔW‖/‖W‖"), ("spread", "spread"), ("gain", "gain"),
                 ("margin", "margin"), ("fixes", "fixes"), ("learns", "learns"), ("seconds", "seconds"))


def _entries(result: dict[str, Any]) -> list[dict[str, Any]]:
    base = result.get("baseline")
    trials = [t for t in result.get("trials") or [] if isinstance(t, dict)]
    return ([base] if isinstance(base, dict) else []) + [t for t in trials if t is not base]


def label(entry: dict[str, Any] | None) -> str:
    """The entry's name (``baseline``, ``code`` or ``code:variant``), else its remedy code(s)."""
    if not entry:
        return "-"
    if entry.get("name"):
        return str(entry["name"])
    r = entry.get("remedy")
    if r is None:
        return "baseline"
    return " + ".join(r) if isinstance(r, (list, tuple)) else str(r)


#: Short names of finding kinds for the narrow tables.
SHORT_KIND = {"vanishing_gradient": "vanishing", "exploding_gradient": "exploding", "dead_units": "dead units",
              "non_finite": "NaN/Inf", "stalled_learning": "stalled", "unstable_loss": "unstable loss",
              "poor_initialization": "poor init"}


def problems_cell(seed_problems: list[Any]) -> str:
    """The problems after training over every seed (``Trial.to_dict()["seed_problems"]``: per seed, the
    ``[kind, axis]`` of each warning/critical finding, or ``None`` without a diagnosis); a problem that only
    some seeds show says in how many ("NaN/Inf in 1/2 seeds": a seed that went NaN beside a clean one was
    invisible when only the first seed was read). ``n/a`` when no seed was diagnosed."""
    runs = [ps for ps in seed_problems if isinstance(ps, list)]
    if not runs:
        return "n/a"
    counts: dict[str, int] = {}
    for ps in runs:
        names = {SHORT_KIND.get(str(p[0]), str(p[0])) + (f" ({p[1]})" if len(p) > 1 and p[1] else "") for p in ps}
        for k in names:
            counts[k] = counts.get(k, 0) + 1
    kinds = [k if n == len(runs) else f"{k} in {n}/{len(runs)} seeds" for k, n in sorted(counts.items())]
    return ", ".join(kinds) if kinds else "none"


def n_problems(entry: dict[str, Any]) -> str:
    """Number of warning/critical findings of an entry (its findings list or an already counted number)."""
    f = entry.get("findings")
    if isinstance(f, list):
        return str(sum(1 for x in f if not isinstance(x, dict) or x.get("severity") in ("warning", "critical")))
    return "n/a" if f is None else fmt_num(f)


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return fmt_num(v)


def _measured_spread(e: dict[str, Any]) -> bool:
    """Whether the entry's ``spread`` was measured: it takes two seeds with a finite metric (one seed gave
    "spread 0", a seed-to-seed agreement that nothing measured; the terminal table already left it out)."""
    per_seed = e.get("seed_metrics")
    if isinstance(per_seed, list):
        return sum(isinstance(v, (int, float)) and np.isfinite(v) for v in per_seed) >= 2
    seeds = e.get("seeds")
    return not isinstance(seeds, list) or len(seeds) >= 2


def _as_float(v: Any) -> float:
    """A per-seed number of ``to_dict()`` as a float (``None`` was NaN, ``"inf"``/``"-inf"`` infinite)."""
    try:
        return float(v) if v is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def loss_cell(seed_losses: Any, fmt: Any = fmt_num) -> str:
    """A run's validation loss for the tables: the mean over its seeds, or, when some seed's loss is NaN/Inf (it
    diverged), ``nan``/``inf`` with how many seeds (``nan (1/2 seeds)``): the mean is then not a number, and
    ``-`` read as "not measured" while the other seed trained fine. ``-`` when no seed ran."""
    per = [_as_float(v) for v in seed_losses] if isinstance(seed_losses, list) else []
    if not per:
        return "-"
    bad = [v for v in per if not np.isfinite(v)]
    if not bad:
        return str(fmt(float(np.mean(per))))
    word = "inf" if all(v == np.inf for v in bad) else "nan"
    return word if len(bad) == len(per) else f"{word} ({len(bad)}/{len(per)} seeds)"


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return a is not None and b is not None and label(a) == label(b) and a.get("metric") == b.get("metric")


def run_pair(result: Any) -> tuple[Any, Any] | None:
    """(baseline RunData, winner RunData) of a RepairResult object whose trials kept their runs; else None."""
    base = getattr(getattr(result, "baseline", None), "data", None)
    best = getattr(getattr(result, "best", None), "data", None)
    if base is None or best is None or not hasattr(base, "layer_stats") or not hasattr(best, "layer_stats"):
        return None
    return base, best


def repair_context(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """Headers and rows of the before/after table, the winner and its description; None without a repair."""
    if not result:
        return None
    entries = _entries(result)
    best = result.get("best") if isinstance(result.get("best"), dict) else None
    extra = [(k, h) for k, h in EXTRA_COLUMNS if any(e.get(k) is not None for e in entries)]
    headers = ["run", str(result.get("metric_name") or "metric"), "loss", "problems", *[h for _, h in extra],
               "seeds"]
    rows = []
    for e in entries:
        seeds = e.get("seeds")
        skipped, failed = e.get("skipped"), e.get("failed")
        note = f" (skipped: {skipped})" if skipped else (f" (failed: {failed})" if failed else "")
        rows.append({"winner": _same(e, best), "baseline": e.get("remedy") is None, "skipped": skipped or "",
                     "cells": [label(e) + note, fmt_num(e.get("metric")),
                               loss_cell(e["seed_losses"]) if "seed_losses" in e else fmt_num(e.get("loss")),
                               problems_cell(e["seed_problems"]) if e.get("seed_problems") else n_problems(e),
                               *["-" if k == "spread" and not _measured_spread(e) else _cell(e.get(k))
                                 for k, _ in extra],
                               ", ".join(str(s) for s in seeds) if isinstance(seeds, list) else fmt_num(seeds)]})
    remedy = best.get("remedy") if best else None
    codes = remedy if isinstance(remedy, (list, tuple)) else ([remedy] if remedy else [])
    changes = result.get("changes") or (best.get("changes") if best else None) or []
    stopped = stop_note(result)  # the trials stopped before every candidate was tried: the verdict says so
    return {"headers": headers, "rows": rows, "best": label(best) if best else None,
            "best_descriptions": [(c, describe_remedy(c)) for c in codes], "changes": [str(c) for c in changes],
            "verdict": (f"{label(best)} beat the baseline." if best else HEALTHY_VERDICT
                        if result.get("stopped") == "healthy" and not result.get("trials") else
                        _no_winner(result)) + (f" {_sentence(stopped)}" if stopped else "")
                       + (f" {line}" if stopped and (line := budget_line(result)) else ""),
            "stop_note": _sentence(stopped) if stopped else None, "budget_line": budget_line(result)}


def no_winner_reason(result: dict[str, Any]) -> str:
    """Why no remedy won, in one sentence (lower case, no full stop), from ``RepairResult.to_dict()``; the one
    wording of the terminal (``RepairResult.no_winner_reason``), ``describe()``, ``--json`` and the report: the
    baseline is healthy (none tried), its problem has no remedy (``stopped == "no_remedy"``), the run was interrupted first, every remedy was skipped
    (did not apply) or failed, so none was compared with the baseline, the remedies that beat the baseline
    still learn nothing (validation loss not below a constant output's), or none beat it by the margin."""
    trials = [t for t in result.get("trials") or [] if isinstance(t, dict)]
    judged = [t for t in trials if t.get("gain") is not None]
    if result.get("stopped") == "healthy" and not trials:
        return HEALTHY_REASON
    if result.get("stopped") == "no_remedy" and not trials:
        base = result.get("baseline")
        probs = [f for f in (base.get("findings") if isinstance(base, dict) else None) or [] if isinstance(f, dict)
                 and f.get("severity") in ("warning", "critical")]
        what = "; ".join(f"{f.get('kind')} ({', '.join(str(c) for c in f.get('causes') or [])}): {f.get('message')}"
                         for f in probs)
        return ("the baseline has a problem that no remedy graddoctor can apply addresses, so none was tried"
                + (f": {what}" if what else ""))
    if result.get("stopped") == "interrupted" and not judged:
        return "interrupted before any remedy finished its trial"
    if not trials:  # max_trials=0, or a budget spent on the baseline: nothing was compared
        return "no remedy was tried, so none was compared with the baseline"
    if trials and not any(not t.get("skipped") and not t.get("failed") for t in trials):
        skipped = sum(bool(t.get("skipped")) for t in trials)
        failed = [t for t in trials if t.get("failed") and not t.get("skipped")]
        applying = sum(failed_applying(str(t["failed"])) for t in failed)
        parts = ([f"{skipped} did not apply to this model"] if skipped else []) + \
            ([f"{applying} failed while being applied"] if applying else []) + \
            ([f"{len(failed) - applying} failed while training"] if len(failed) > applying else [])
        return f"no remedy could be compared with the baseline: of the {len(trials)} tried, {' and '.join(parts)}"
    # gain and margin as floats: to_dict() writes an infinite one as "inf"/"-inf" (a trial that diverged has a
    # gain of -inf), which a comparison with a float rejected
    idle = [t for t in judged if t.get("learns") is False and t.get("margin") is not None
            and _as_float(t["gain"]) > _as_float(t["margin"]) and t.get("fixes") is not False]
    if idle:
        const, chance = result.get("constant_loss"), result.get("chance_metric")
        ref = f" ({fmt_num(const)})" if isinstance(const, (int, float)) and np.isfinite(const) else ""
        acc = (f" and an accuracy within the margin of always predicting the most frequent class ({fmt_num(chance)})"
               if isinstance(chance, (int, float)) and np.isfinite(chance) else "")
        return (f"the remedies that beat the baseline ({', '.join(label(t) for t in idle)}) end with a validation "
                f"loss no lower than a constant output's{ref}{acc}: the model still learns nothing from its inputs")
    return "no remedy beat the baseline by more than the seed-to-seed spread while fixing the finding"


#: ``RepairResult.stopped`` values for trials that ended before every candidate was tried (``"healthy"`` and
#: ``"no_remedy"`` tried none on purpose: :func:`no_winner_reason` says why).
EARLY_STOPS = ("budget", "max_trials", "interrupted")


def _seconds(x: float) -> str:
    """Seconds to two significant digits, whole seconds from 10 s (``3``, ``0.25``, ``12``, ``130``)."""
    return fmt_num(round(x) if x >= 10 else float(f"{x:.2g}"))


def stop_note(result: dict[str, Any]) -> str | None:
    """Why the trials stopped before every candidate remedy was tried, and which were not, in one sentence
    (lower case, no full stop), from ``RepairResult.to_dict()``: the time budget (``budget_s``) had no room for
    another trial of about the baseline's duration, ``max_trials`` remedies were tried, or Ctrl-C. ``None``
    when every candidate was tried, or none on purpose (``healthy``, ``no_remedy``). The one wording of the
    terminal, ``describe()``, ``--json`` (``stop_note``) and the report."""
    stopped = result.get("stopped")
    if stopped not in EARLY_STOPS:
        return None
    trials = [t for t in result.get("trials") or [] if isinstance(t, dict)]
    done = {label(t) for t in trials} | {str(t.get("remedy")) for t in trials}
    left = [str(c) for c in result.get("candidates") or [] if str(c) not in done]
    n = sum(1 for t in trials if not t.get("skipped"))
    tried = f"{n} remed{'y' if n == 1 else 'ies'} tried"
    if stopped == "budget":
        budget, base = result.get("budget_s"), result.get("baseline")
        per = base.get("seconds") if isinstance(base, dict) else None
        of = f" of {_seconds(budget)} s" if isinstance(budget, (int, float)) and np.isfinite(budget) else ""
        each = f" (about {_seconds(per)} s, the baseline's time)" if isinstance(per, (int, float)) and per > 0 else ""
        spent = result.get("seconds")
        spent_s = f" after {_seconds(spent)} s" if isinstance(spent, (int, float)) and spent > 0 else ""
        why = f"the time budget{of} had no room for another trial{each}{spent_s}, {tried}"
    elif stopped == "max_trials":
        k = result.get("max_trials")
        why = f"max_trials={k} reached, {tried}" if isinstance(k, int) else f"the max_trials limit was reached, {tried}"
    elif not trials and not result.get("candidates"):  # Ctrl-C in the baseline: nothing was ranked yet
        return "stopped early: interrupted (Ctrl-C) while training the baseline, before any remedy was ranked or tried"
    else:
        why = f"interrupted (Ctrl-C), {tried}"
    return f"stopped early: {why}; not tried: {', '.join(left) or '-'}"


#: How ``repair`` begins ``Trial.failed`` when applying the remedy raised (not its training).
APPLY_FAILED = "while applying the remedy"


def failed_applying(failed: str) -> bool:
    """Whether a ``Trial.failed`` message is an error of applying the remedy rather than of training with it."""
    return APPLY_FAILED in failed.partition(":")[0]


def budget_line(result: dict[str, Any]) -> str | None:
    """What the trials ran under and how far they got: seeds per run, how many of the candidate remedies trained
    (and how many did not apply), the time taken and the budget. The terminal and the report print it after the
    stop note when the trials stopped early (otherwise the tables show every candidate, its seeds and its time).
    ``None`` when the result says nothing of them (no baseline seeds)."""
    base = result.get("baseline")
    seeds = base.get("seeds") if isinstance(base, dict) else None
    if not isinstance(seeds, list) or not seeds:
        return None
    parts = [f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} per run"]
    trials = [t for t in result.get("trials") or [] if isinstance(t, dict)]
    candidates = result.get("candidates") or []
    if candidates or trials:
        skipped = sum(bool(t.get("skipped")) for t in trials)
        n = max(len(candidates), len(trials))
        parts.append(f"{len(trials) - skipped} of {n} candidate remed{'y' if n == 1 else 'ies'} trained"
                     + (f" ({skipped} did not apply)" if skipped else ""))
    spent, budget = result.get("seconds"), result.get("budget_s")
    if isinstance(spent, (int, float)) and spent > 0:
        of = f" of a {_seconds(budget)} s budget" if isinstance(budget, (int, float)) and np.isfinite(budget) else ""
        parts.append(f"{_seconds(spent)} s{of}")
    return "Trials: " + "; ".join(parts) + "."


def _no_winner(result: dict[str, Any]) -> str:
    """The report's sentence when no remedy won (the terminal's, see :func:`no_winner_reason`)."""
    return _sentence(f"{no_winner_reason(result)}; the model is left as it was")


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}."


def curves_of(entry: dict[str, Any] | None) -> dict[str, list[np.ndarray]]:
    """Curve name -> list of arrays (one per seed) found in an entry."""
    if not entry:
        return {}
    for key in CURVE_KEYS:
        v = entry.get(key)
        if v is None:
            continue
        if isinstance(v, dict):
            out = {str(k): _as_runs(x) for k, x in v.items()}
            return {k: x for k, x in out.items() if x}
        runs = _as_runs(v)
        if runs:
            return {"loss" if "loss" in key or key in ("curve", "curves", "history") else key: runs}
    return {}


def _as_runs(v: Any) -> list[np.ndarray]:
    if not isinstance(v, list) or not v:
        return []
    if all(isinstance(x, list) for x in v):
        return [np.asarray([np.nan if y is None else y for y in x], dtype=np.float64) for x in v if x]
    if all(isinstance(x, (int, float)) or x is None for x in v):
        return [np.asarray([np.nan if y is None else y for y in v], dtype=np.float64)]
    return []


def repair_curves(result: dict[str, Any] | None) -> Any:
    """Baseline and winner curves overlaid (one panel per curve name); None when no curves were recorded."""
    if not result:
        return None
    from . import plots

    base = result.get("baseline") if isinstance(result.get("baseline"), dict) else None
    best = result.get("best") if isinstance(result.get("best"), dict) else None
    pairs = [(e, c) for e, c in ((base, "tab:red"), (best, "tab:green")) if e is not None]
    curves = {id(e): curves_of(e) for e, _ in pairs}
    names = [n for e, _ in pairs for n in curves[id(e)]]
    names = list(dict.fromkeys(names))[:3]
    if not names:
        return None
    fig, axes = plots._new(3.4, ncols=len(names))
    for ax, name in zip(axes[0], names):
        # a log axis for losses that span more than a decade (a 1.6-2.8 loss read "2.8 x 10^0"), unless one went
        # below zero (the log axis dropped those points)
        runs = [r for e, _ in pairs for r in curves[id(e)].get(name, [])]
        log = "loss" in name and bool(runs) and plots.log_axis_fits(np.concatenate(runs))
        for e, color in pairs:
            for k, run in enumerate(curves[id(e)].get(name, [])):
                v = plots.positive(run) if log else run
                ax.plot(np.arange(run.size), v, color=color, lw=1, alpha=0.9 if k == 0 else 0.5,
                        label=plots.text(label(e)) if k == 0 else None)
        if log and plots.has_values(ax.lines[0].get_ydata()):
            ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("recorded point")
        ax.legend(fontsize=8)
    return fig
