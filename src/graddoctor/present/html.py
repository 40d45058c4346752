"""Self-contained HTML reports (jinja2, autoescape on; figures embedded as base64 PNG; no script, no
network). A Content-Security-Policy in the page forbids every script and every non-embedded resource, so
even a string that escaped escaping could not run.

Entry points: :func:`render_run_report` (``run.report(path)``, ``graddoctor report``) and
:func:`render_check_report` (``diag.report(path)``).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined

from .. import __version__
from ..stats.kinds import DEAD_CAPABLE, SATURATING
from ..store.run_data import RunData
from ..store.sqlite import SQLITE_MAGIC, SQLITE_SIDE_FILES
from . import plots
from .explain import (
    NO_STEPS_SUMMARY,
    as_dict,
    describe_cause,
    describe_remedy,
    evidence_items,
    explain_kind,
    factorisation,
    findings_summary,
    fmt_num,
    when,
    where,
)
from .repair_view import repair_context, run_pair
from .sampling import (
    MAX_DISPLAY_STEPS,
    Sampling,
    earlier_note,
    latest_values,
    load_for_display,
    nonfinite_note,
    nonfinite_positions,
)

#: Per-layer columns of the report's statistics table: (statistic, heading).
TABLE_COLUMNS = (("signal_norm", "‖∂L/∂out‖"), ("in_signal_norm", "‖∂L/∂in‖"), ("weight_grad_norm", "‖∇W‖"),
                 ("grad_ratio", "‖∇W‖/‖W‖"), ("update_ratio", "‖ΔW‖/‖W‖"), ("act_mean", "act mean"),
                 ("act_p02", "act p2"), ("act_p98", "act p98"), ("act_saturated", "saturated"),
                 ("act_dead", "dead"))
#: Headings of a diagnosis's per-layer columns (check report, ``diag.report()``), as the run report and the
#: terminal write them: the page showed its raw keys ("signal", "in_signal", "grad_ratio") where the run report
#: beside it says ‖∂L/∂out‖, ‖∂L/∂in‖ and ‖∇W‖/‖W‖. Keys not listed keep their name.
DIAG_HEADINGS = {"signal": "‖∂L/∂out‖", "in_signal": "‖∂L/∂in‖", "grad_ratio": "‖∇W‖/‖W‖",
                 "update_ratio": "‖ΔW‖/‖W‖", "act_mean": "act mean", "act_rms": "act rms", "gain": "gain",
                 "activation_factor": "σ′ factor", "weight_factor": "W factor", "saturated": "saturated",
                 "dead": "dead", "init_verdict": "init", "init_factor": "init/ref", "activation": "act",
                 "act_deriv": "mean σ′", "init_reference": "init ref.", "nonfinite": "NaN/Inf out"}
#: Most layers listed in the visible part of a table; the rest sit in a collapsed block.
TABLE_VISIBLE_ROWS = 60
#: Factorisation rows shown per finding before the rest collapse into a "more layers" block.
FACTOR_ROWS_SHOWN = 10
#: Summary of a report that did not diagnose the run (``--no-diagnose``, or a diagnosis that failed) when no
#: findings are stored with it either: ``watch()`` stores none by itself, so "No problems found." was a false
#: all-clear for a run with a critical vanishing gradient.
NOT_DIAGNOSED_SUMMARY = ("Not diagnosed here, and no findings are stored with this run: write the report without "
                         "--no-diagnose (or run 'graddoctor diagnose RUN' first) to look for problems.")

#: A run whose status still says ``running`` but whose last recorded step is older than this (seconds) when the
#: report is written gets a note that its writer may have stopped: a writer that was killed never marks its run
#: finished. The live view's threshold (:data:`graddoctor.present.live.STALE_AFTER_S`, 60 s) would flag a slow
#: writer between two flushes; a report is written later, so it waits ten times longer.
STALE_RUNNING_S = 600.0

_ENV: Environment | None = None


def environment() -> Environment:
    """The jinja2 environment (autoescape on for every template, undefined names are errors)."""
    global _ENV
    if _ENV is None:
        env = Environment(loader=PackageLoader("graddoctor.present", "templates"), autoescape=True,
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        env.filters["num"] = fmt_num
        _ENV = env
    return _ENV


def finding_context(f: Any, source: str | None = None) -> dict[str, Any]:
    """Everything the page shows for one finding (a Finding or its dict); ``source``: the diagnosis's
    (``check``, ``run``), for the "when" of findings without a step."""
    d = as_dict(f)
    ev = d.get("evidence") or {}
    explanation, reference = explain_kind(d["kind"])
    factors = factorisation(ev)
    skip = ("activation_factor", "act_factor", "weight_factor", "w_factor", "factorization", "factorisation",
            "factors") if factors else ()
    return {
        "kind": d["kind"], "severity": d["severity"], "axis": d.get("axis"), "where": where(d),
        "layers": list(d.get("layers") or []), "origin": d.get("origin"),
        "step": d.get("step"), "message": d.get("message") or "", "detector": d.get("detector") or "",
        "causes": [(c, describe_cause(c)) for c in d.get("causes") or []],
        "remedies": [(r, describe_remedy(r)) for r in d.get("remedies") or []],
        "factors": factors[:FACTOR_ROWS_SHOWN], "factors_rest": factors[FACTOR_ROWS_SHOWN:], "dominant": ev.get("dominant") or ev.get("dominant_factor"),
        "evidence": evidence_items(ev, skip), "explanation": explanation, "reference": reference,
        "source": d.get("source", ""), "when": when(d, source),
    }


def _status_note(meta: dict[str, Any], sampling: Sampling, now: float | None = None) -> str:
    """Says when a run still marked ``running`` recorded its last step long ago (see :data:`STALE_RUNNING_S`)."""
    start, wall = meta.get("start_time"), sampling.curves.get("wall_time")
    if meta.get("status") != "running" or not isinstance(start, (int, float)) or wall is None or not wall.size \
            or not np.isfinite(wall[-1]):
        return ""
    age = (_dt.datetime.now(tz=_dt.timezone.utc).timestamp() if now is None else now) - (start + float(wall[-1]))
    if age < STALE_RUNNING_S:
        return ""
    last = _dt.datetime.fromtimestamp(start + float(wall[-1]), tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"The last step was recorded at {last}, {age / 60:.0f} min before this report, yet the status still "
            "says running: the writer may have stopped (killed or crashed before marking the run finished), "
            "and the run holds the steps flushed until then.")


def _meta_rows(meta: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for k, v in meta.items():
        if k in ("start_time", "end_time") and isinstance(v, (int, float)):
            v = _dt.datetime.fromtimestamp(v, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        rows.append((str(k), v if isinstance(v, str) else json.dumps(v, default=str, ensure_ascii=False)))
    return rows


def _model_rows(data: RunData) -> list[dict[str, Any]]:
    rows = []
    for i, layer in enumerate(data.layers):
        info = layer.info or {}
        shapes = "; ".join(f"{k} {'×'.join(str(s) for s in v)}" for k, v in (info.get("params") or {}).items())
        flags = ", ".join(x for x in ("recurrent", "conv") if info.get(x))
        rows.append({"i": i, "name": layer.name, "type": layer.type, "activation": layer.activation or "-",
                     "act_module": layer.activation_module or "", "shapes": shapes,
                     "params": fmt_num(info.get("param_count")), "fan": f"{fmt_num(info.get('fan_in'))} → "
                     f"{fmt_num(info.get('fan_out'))}", "flags": flags})
    return rows


def _stat_rows(data: RunData) -> tuple[list[str], list[list[str]], str]:
    cols = [(k, h) for k, h in TABLE_COLUMNS if k in data.layer_stats]
    vals, came_from = latest_values(data, [k for k, _ in cols])
    # A column the run recorded stays even when the step shown holds only NaN/Inf (a run whose gradients
    # blew up): the note then says that its "-" cells can be non-finite values.
    cols = [(k, h) for k, h in cols if np.isfinite(vals[k]).any() or not np.isnan(data.layer_stats[k]).all()]
    rows = [[str(i), layer.name, layer.type, layer.activation or "-"] + [fmt_num(vals[k][i]) for k, _ in cols]
            for i, layer in enumerate(data.layers)]
    last = int(data.steps[-1]) if data.n_steps else None
    note = "; ".join(x for x in (earlier_note({k: came_from[k] for k, _ in cols}, last, dict(cols)),
                                 nonfinite_note(data, last)) if x)
    return ["#", "layer", "type", "act"] + [h for _, h in cols], rows, note


def _figures(specs: list[tuple[str, str, str, Any]], png_dir: str | os.PathLike[str] | None,
             draw_figures: bool = True) -> dict[str, Any]:
    """Draw each figure; returns key -> {title, caption, uri} (None when nothing to draw; ``{"skipped": True}``
    for every figure when ``draw_figures`` is False)."""
    from .progress import progress

    out: dict[str, Any] = {}
    pngs: dict[str, bytes] = {}
    if not draw_figures:
        return {key: {"skipped": True, "key": key} for key, *_ in specs}
    with progress("drawing figures", total=len(specs)) as bar:
        for key, title, caption, draw in specs:
            fig = draw()
            bar.advance()
            if fig is None:
                out[key] = None
                continue
            png = plots.to_png(fig)
            pngs[key] = png
            out[key] = {"title": title, "caption": caption, "uri": plots.png_data_uri(png), "key": key}
    if png_dir is not None:
        plots.write_pngs(pngs, png_dir)
    return out


def run_figures(data: RunData, sampling: Sampling, png_dir: Any = None,
                repair: dict[str, Any] | None = None, draw_figures: bool = True,
                pair: tuple[RunData, RunData] | None = None) -> dict[str, Any]:
    """Every figure of a run report (``pair``: the baseline's and the winner's runs of a repair, when kept)."""
    from .repair_view import repair_curves

    specs = [
        ("gradient_flow", "Gradient flow by depth", "Backward-signal norm and relative weight gradient of each "
         "layer at the first, middle and last recorded steps (log scale). Bars that fall by orders of magnitude "
         "towards the input side (left) are a vanishing gradient; bars that grow are an exploding one.",
         lambda: plots.gradient_flow(data)),
        ("heatmap", "Gradient flow over the run", "The same quantities for every layer (rows, input side at "
         "top) and every displayed step (columns), log10 colour scale.", lambda: plots.heatmap(data, sampling)),
        ("update_speed", "Learning speed", "Relative update ‖ΔW‖/‖W‖ of each layer per step. The shaded band is "
         f"one decade either side of the rule-of-thumb {plots.UPDATE_RATIO_TARGET:g}: far below it a layer "
         "barely learns, far above it training is unstable.", lambda: plots.update_speed(data)),
        ("activations", "Activation values", "Mean activation and its 2nd-98th percentile band per layer over "
         "training (Glorot & Bengio 2010, Fig. 2). Sigmoid units pinned near 0 or 1, or tanh units near ±1, "
         "are saturated.", lambda: plots.activations(data)),
        ("saturation", "Saturated and dead units", "Fraction of saturated units (sigmoid/tanh family) and of "
         "dead units (ReLU family) per layer over training.", lambda: plots.saturation(data)),
        ("time_signal", "Gradient through time", "‖∂L/∂x_t‖ of each recurrent layer's input against the "
         "distance from the loss, at the first, middle and last recorded steps. The dashed line is the memory "
         f"horizon: where the signal has fallen below {plots.HORIZON_FACTOR:g} of its value at the loss.",
         lambda: plots.time_signal(data)),
        ("loss", "Loss and total gradient norm", "Every recorded step; red lines mark steps with a non-finite "
         "loss or gradient.", lambda: plots.loss_curves(data, sampling)),
        ("repair_curves", "Baseline and repaired run", "Curves of the baseline and of the winning remedy, "
         "overlaid.", lambda: repair_curves(repair) if repair else None),
        ("repair_flow", "Gradient flow before and after the repair", "Per-layer backward signal and relative "
         "update at the end of training, baseline (red) and winning remedy (green), first seed of each.",
         lambda: plots.compare_flow(*pair, labels=("baseline", "repaired")) if pair else None),
    ]
    return _figures(specs, png_dir, draw_figures)


def _missing(meta: dict[str, Any], n_steps: int, sampling: Sampling | None = None,
             activations: frozenset[str | None] = frozenset()) -> dict[str, str]:
    """What each run figure says in its place when it has nothing to draw. A run without a recorded step says
    that, rather than advice about settings it already had (activations were on). watch() measures update
    ratios with or without the optimizer, so none is advised for them. A run with NaN/Inf gradients says that
    its statistics were recorded but held no finite value, where "No backward-signal statistics were recorded"
    sent the reader after a setting (a run NaN from step 0). ``activations``: the kinds of the run's
    activations; with a saturating or dead-capable one, a NaN run's saturation figure says it held nothing finite
    (it said "No saturating or ReLU-family activations were recorded" of a ReLU net)."""
    if not n_steps:
        none = "Nothing to draw: no steps were recorded."
        return dict.fromkeys(("gradient_flow", "heatmap", "update_speed", "activations", "saturation", "loss"),
                             none)
    raw = meta.get("settings")
    settings: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if sampling is not None and sampling.curve_steps.size and nonfinite_positions(sampling.curves).size:
        bad = nonfinite_positions(sampling.curves)
        nan = (f"Nothing finite to draw: {bad.size:,} of {n_steps:,} recorded steps held NaN/Inf gradients (the "
               f"first at step {int(sampling.curve_steps[bad[0]])}); the loss figure marks them and the findings "
               "say where they began.")
        drawn_acts = SATURATING | DEAD_CAPABLE
        keys = ["gradient_flow", "update_speed"] + (
            ["activations"] + (["saturation"] if activations & drawn_acts else [])
            if settings.get("activations") is not False else [])
        out = {**_missing(meta, n_steps), **dict.fromkeys(keys, nan)}
        if n_steps >= 2:
            out["heatmap"] = "Nothing finite for the heatmap either."
        return out
    return {
        "gradient_flow": "No backward-signal statistics were recorded.",
        "heatmap": "A heatmap needs at least two recorded steps." if n_steps < 2 else
                   "No backward-signal or relative-gradient statistics were recorded.",
        "update_speed": "No update ratios were recorded.",
        "activations": "No activation statistics were recorded" + (
            " (watch(activations=True) records them)." if settings.get("activations") is False else "."),
        "saturation": "No activation statistics were recorded (watch(activations=True) records them)."
                      if settings.get("activations") is False else
                      "No saturating or ReLU-family activations were recorded.",
        "loss": "No loss or total gradient norm was recorded.",
    }




def check_output(path: str | os.PathLike[str]) -> Path:
    """The report's path, checked before any work (reading, diagnosing, drawing) is spent on it.

    An existing report is replaced, but never a run store (or any SQLite database, or the WAL/shared-memory file
    beside one): ``graddoctor report run.sqlite -o run.sqlite`` would otherwise destroy the run it reports on.
    """
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"report path {str(out)!r} is a directory; give a file name like report.html")
    if not out.parent.exists():
        raise FileNotFoundError(f"cannot write report {str(out)!r}: directory {str(out.parent)!r} does not exist; "
                                "create it first")
    store = next((str(out)[: -len(x)] for x in SQLITE_SIDE_FILES if str(out).endswith(x)), None)
    for candidate in (out, Path(store) if store else None):
        if candidate is None or not candidate.is_file():
            continue
        try:
            with candidate.open("rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except OSError:
            continue
        if head == SQLITE_MAGIC:
            what = "is an SQLite database (a run store?)" if candidate == out else \
                f"belongs to the SQLite database {str(candidate)!r} (a run store?)"
            raise ValueError(f"report path {str(out)!r} {what}; it is not overwritten: give the report a file "
                             "name like report.html")
    return out


def _write(html: str, path: str | os.PathLike[str]) -> Path:
    out = check_output(path)
    out.write_text(html, encoding="utf-8")
    return out


def _diag_findings(diagnosis: Any, stored: list[dict[str, Any]], total_steps: int = 0
                   ) -> tuple[list[dict[str, Any]], str]:
    """The findings to show and where they come from. A diagnosis that saw fewer steps than the run recorded
    (``graddoctor report`` of a downsampled run diagnoses the displayed steps) says so: its first steps and its
    misses are those of the steps it saw."""
    if diagnosis is None:
        return [as_dict(f) for f in stored], "stored with the run"
    d = diagnosis if isinstance(diagnosis, dict) else {"findings": diagnosis.findings,
                                                       "meta": getattr(diagnosis, "meta", None)}
    meta = d.get("meta")
    seen = meta.get("n_steps") if isinstance(meta, dict) else None
    label = (f"diagnosis of {seen:,} of the {total_steps:,} recorded steps (those displayed)"
             if isinstance(seen, int) and 0 < seen < total_steps else "diagnosis")
    return [as_dict(f) for f in d.get("findings", [])], label


def render_run_report(data: RunData | str | os.PathLike[str], path: str | os.PathLike[str],
                      diagnosis: Any = None, repair: dict[str, Any] | Any | None = None, *,
                      max_steps: int = MAX_DISPLAY_STEPS, png_dir: str | os.PathLike[str] | None = None,
                      title: str | None = None, sampling: Sampling | None = None, figures: bool = True) -> Path:
    """Write the HTML report of a recorded run.

    Args:
        data: the run (``run.data``) or the path of its store; from a path only the displayed steps are read.
        path: the HTML file to write.
        diagnosis: a :class:`~graddoctor.Diagnosis` (or its dict); ``None`` shows the findings stored with the
            run.
        repair: a repair result (``RepairResult`` or its ``to_dict()``) for the before/after section; a
            ``RepairResult`` whose trials kept their runs also gets the per-layer before/after figure.
        max_steps: most steps of per-layer statistics drawn (the page says when it downsampled).
        png_dir: also write every figure as ``<png_dir>/<figure>.png``.
        title: page title (default: the model class and store name).
        sampling: how ``data`` was already downsampled by :func:`~graddoctor.present.sampling.load_for_display`
            (then ``data`` is drawn as it is).
        figures: draw the figures (False: findings and tables only, a small file written in a fraction of the
            time).

    Returns:
        The path written.
    """
    check_output(path)
    if sampling is not None and isinstance(data, RunData):
        view = data
    else:
        view, sampling = load_for_display(data, max_steps)
    findings, findings_source = _diag_findings(diagnosis, view.findings, sampling.total_steps)
    repair_dict = repair.to_dict() if repair is not None and hasattr(repair, "to_dict") else repair
    pair = run_pair(repair) if repair is not None else None
    meta = view.meta
    name = title or " · ".join(str(x) for x in (meta.get("model_class"), Path(view.path).name if view.path
                                                 else None) if x) or "run"
    drawn = run_figures(view, sampling, png_dir, repair_dict, draw_figures=figures, pair=pair)
    headers, rows, stat_note = _stat_rows(view)
    ctx = {
        "title": f"graddoctor report: {name}", "name": name, "version": __version__, "kind": "run",
        "generated": _dt.datetime.now(tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "status": meta.get("status", "unknown"), "n_layers": len(view.layers),
        "n_steps": sampling.total_steps, "first_step": int(sampling.curve_steps[0]) if sampling.total_steps else None,
        "last_step": int(sampling.curve_steps[-1]) if sampling.total_steps else None,
        "sampling_note": sampling.note(), "status_note": _status_note(meta, sampling), "findings": [finding_context(f, "run") for f in findings],
        "summary": (NO_STEPS_SUMMARY if not sampling.total_steps and not findings else
                    NOT_DIAGNOSED_SUMMARY if diagnosis is None and not findings and not view.diagnosed else
                    findings_summary(findings)),
        "findings_source": findings_source,
        "figures": drawn, "missing": _missing(meta, sampling.total_steps, sampling,
                                                             frozenset(x.activation for x in view.layers)), "stat_headers": headers,
        "stat_rows": rows, "stat_step": int(view.steps[-1]) if view.n_steps else None, "stat_note": stat_note, "visible_rows": TABLE_VISIBLE_ROWS,
        "model_rows": _model_rows(view), "meta_rows": _meta_rows(meta), "repair": repair_context(repair_dict),
        "has_series": bool(view.series.get("time_signal")),
    }
    return _write(environment().get_template("run_report.html").render(**ctx), path)


def _check_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]], int]:
    """Headers, cells and the first numeric column of a diagnosis's per-layer rows: text columns first,
    columns without a single value left out."""
    keys: list[str] = []
    for r in rows:
        for k, v in r.items():
            if k not in keys and not isinstance(v, (dict, list)):
                keys.append(k)
    keys = [k for k in keys if any(fmt_num(r.get(k)) != "-" for r in rows)]
    text = [k for k in keys if all(isinstance(r.get(k), str) or r.get(k) is None for r in rows)]
    keys = text + [k for k in keys if k not in text]
    cells = [[r[k] if isinstance(r.get(k), str) else fmt_num(r.get(k)) for k in keys] for r in rows]
    return [DIAG_HEADINGS.get(k, k) for k in keys], cells, len(text)


def _measured_on(source: str, meta: dict[str, Any]) -> str:
    """Where a diagnosis's per-layer rows were measured: one batch for a check, the last recorded step for a
    run (``gd.diagnose(store).report(...)`` said "measured on one batch" of a run's rows)."""
    if source == "check":
        return "measured on one batch"
    if meta.get("n_steps") == 0:
        return "(none: no step was recorded)"
    steps = meta.get("steps")
    last = steps[-1] if isinstance(steps, (list, tuple)) and steps and isinstance(steps[-1], int) else None
    return "at the last recorded step" + (f" (step {last})" if last is not None else "")


def render_check_report(diag: Any, path: str | os.PathLike[str], *, png_dir: str | os.PathLike[str] | None = None,
                        title: str | None = None) -> Path:
    """Write the HTML report of a one-batch check (or of any :class:`~graddoctor.Diagnosis`).

    Args:
        diag: the Diagnosis (or its ``to_dict()``).
        path: the HTML file to write.
        png_dir: also write every figure as ``<png_dir>/<figure>.png``.
        title: page title.

    Returns:
        The path written.
    """
    check_output(path)
    d = diag.to_dict() if hasattr(diag, "to_dict") else dict(diag)
    findings = [as_dict(f) for f in d.get("findings", [])]
    meta = d.get("meta") or {}
    rows = d.get("layers") or []
    name = title or str(meta.get("model_class") or meta.get("model") or d.get("source", "check"))
    measured = _measured_on(d.get("source", "check"), meta)
    figures = _figures([("check_layers", "Gradient flow by depth", f"Per-layer quantities {measured} (log "
                         "scale), input side left.", lambda: plots.check_layers(rows))], png_dir)
    headers, table, numeric_from = _check_table(rows)
    ctx = {
        "title": f"graddoctor {d.get('source', 'check')}: {name}", "name": name, "version": __version__,
        "kind": d.get("source", "check"),
        "generated": _dt.datetime.now(tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "findings": [finding_context(f, d.get("source", "check")) for f in findings],
        # a run's diagnosis of no step is no all-clear (the run report says the same)
        "summary": NO_STEPS_SUMMARY if not findings and meta.get("n_steps") == 0 and d.get("source") == "run"
        else findings_summary(findings),
        "findings_source": d.get("source", "check"), "figures": figures, "stat_headers": headers,
        "stat_rows": table, "visible_rows": TABLE_VISIBLE_ROWS, "meta_rows": _meta_rows(meta),
        "n_layers": len(rows), "measured": measured,
        "numeric_from": numeric_from,
    }
    return _write(environment().get_template("check_report.html").render(**ctx), path)
