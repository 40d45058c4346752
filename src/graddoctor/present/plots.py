"""Figures of a run (matplotlib, Agg backend). Each function reads :class:`RunData` and returns a Figure, or
``None`` when the run holds nothing to draw for it (so a report degrades gracefully, section by section).

Nothing here computes a statistic: figures pick steps and layers to show, mask missing values and log-scale.
"""
from __future__ import annotations

import base64
import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.transforms  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..store.run_data import RunData  # noqa: E402
from .sampling import Sampling  # noqa: E402

#: Resolution of embedded and exported figures (pixels per inch); 100 dpi x 10 in fits a laptop screen.
FIG_DPI = 100
#: Width of every figure in inches.
FIG_WIDTH = 10.0
#: Most layers drawn as separate lines in a line plot; beyond it, evenly spaced layers (the first and the
#: last included) are drawn and the heatmap shows all of them.
MAX_LINES = 12
#: Most layers drawn as grouped bars in the gradient-flow figure; deeper nets are drawn as lines.
MAX_BARS = 40
#: Most layers whose names label an axis; beyond it the axis shows layer indices.
MAX_NAMED_TICKS = 30
#: Most small panels (one per layer) in the activation figure.
MAX_PANELS = 8
#: Rule-of-thumb relative update per step, ||dW||/||W|| ~ 1e-3 (Karpathy, CS231n notes), and the band drawn
#: around it: one decade either side.
UPDATE_RATIO_TARGET = 1e-3
UPDATE_RATIO_BAND = (1e-4, 1e-2)
#: Factor below its value nearest the loss at which ||dL/dx_t|| counts as forgotten (the memory horizon);
#: the same default as :func:`graddoctor.stats.series.memory_horizon`.
HORIZON_FACTOR = 1e-3
#: Most points of a per-step curve; longer runs are drawn from evenly spaced steps (non-finite steps are
#: always marked).
MAX_CURVE_POINTS = 20000
#: Curves with fewer recorded points than this are drawn with markers, so isolated points stay visible.
FEW_POINTS = 30
#: A per-step curve gets a log axis when its positive values span more than this many decades.
LOG_SCALE_DECADES = 1.0


def positive(a: Any) -> np.ndarray:
    """``a`` as float64 with non-positive and non-finite entries masked (NaN) for a log axis."""
    v = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def has_values(a: np.ndarray) -> bool:
    """True when ``a`` holds at least one finite value."""
    return bool(np.asarray(a).size) and bool(np.isfinite(np.asarray(a, dtype=np.float64)).any())


def text(s: Any, last: int | None = None) -> str:
    """A user string as literal figure text: ``$`` escaped so matplotlib never parses it as mathtext (a
    module named ``a$b^`` would otherwise fail to draw); ``last`` keeps only its last characters."""
    s = str(s)
    if last is not None:
        s = s[-last:]
    return s.replace("$", r"\$")


def wide_range(a: Any) -> bool:
    """True when the positive finite values of ``a`` span more than :data:`LOG_SCALE_DECADES` decades, so a
    log axis reads better than a linear one."""
    v = positive(a)
    v = v[np.isfinite(v)]
    return bool(v.size) and float(v.max()) > float(v.min()) * 10 ** LOG_SCALE_DECADES


def log_axis_fits(a: Any) -> bool:
    """True when a per-step curve reads better on a log axis: its positive values span more than
    :data:`LOG_SCALE_DECADES` decades and none of its finite values is negative (a log axis would drop those:
    a Gaussian NLL or an ELBO that went below zero lost its end; zeros are marked by :func:`mark_off_scale`)."""
    v = np.asarray(a, dtype=np.float64)
    return wide_range(v) and not bool((v[np.isfinite(v)] < 0).any())


#: Heatmap colours of an exact zero and of +Inf, outside the magma scale (black to light yellow) of the finite
#: values so that neither reads as a measured value or as a step that recorded nothing (white).
HEATMAP_ZERO_COLOR = "#1f77b4"
HEATMAP_INF_COLOR = "#2ca02c"
#: Colour of the lines that mark NaN/Inf steps on a heatmap: red (the loss figure's) vanished in magma's reds,
#: blue and green already mean 0 and +Inf, white means "not recorded".
HEATMAP_NONFINITE_COLOR = "cyan"
#: Legend text of the marks that :func:`mark_off_scale` draws on the edges of a log axis.
ZERO_LABEL = "exactly 0 (▼ at the bottom edge)"
INF_LABEL = "+Inf (▲ at the top edge)"


def mark_off_scale(ax: Any, x: Any, values: Any, color: Any) -> None:
    """On a log axis, mark the entries of ``values`` that it cannot draw: exact zeros with ▼ on the bottom edge
    and +Inf with ▲ on the top edge, at their ``x``. Without the marks a layer whose signal is exactly 0 (dead
    ReLU units, lr=0) drew no bar and no line, and read as "not recorded" beside the layers that were."""
    v = np.asarray(values, dtype=np.float64)
    x = np.asarray(x)
    trans = matplotlib.transforms.blended_transform_factory(ax.transData, ax.transAxes)
    shown = {line.get_label() for line in ax.lines}
    for mask, y, marker, label in ((v == 0, 0.0, "v", ZERO_LABEL), (np.isposinf(v), 1.0, "^", INF_LABEL)):
        if mask.any():
            ax.plot(x[mask], np.full(int(mask.sum()), y), ls="none", marker=marker, ms=7, color=color,
                    transform=trans, clip_on=False, zorder=5, label="_nolegend_" if label in shown else label)
            shown.add(label)


def step_locator() -> MaxNLocator:
    """Ticks of a step axis: whole steps (no "0.2" in a 1-step run), as many as fit the axis's length. A fixed
    10 bins crammed "1200150018002100" together on a half-width heatmap or an activation panel of a
    3,000-step run."""
    return MaxNLocator(nbins="auto", integer=True, min_n_ticks=1)


def recorded_columns(arr: np.ndarray) -> np.ndarray:
    """Step columns where a (layers x steps) statistic holds at least one finite value: statistics taken on
    detail steps only (activations, dL/d(input)) are NaN on the other steps."""
    a = np.asarray(arr, dtype=np.float64)
    return np.flatnonzero(np.isfinite(a).any(axis=0)) if a.ndim == 2 else np.zeros(0, dtype=np.int64)


def pick_layers(n: int, limit: int = MAX_LINES) -> list[int]:
    """Evenly spaced layer indices (first and last included), at most ``limit``."""
    if n <= limit:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, limit).round().astype(int).tolist()))


def step_positions(n: int) -> list[int]:
    """Positions of the first, middle and last recorded steps (fewer when there are fewer steps)."""
    return sorted({0, n // 2, n - 1}) if n else []


#: Axis label of layer positions when the ticks are row numbers, not names: a Sequential's layer "500" is row
#: 250, and "layer 250" on the axis read as the layer named "250".
LAYER_ROWS_LABEL = "layer position (# in the tables)"


#: Characters of a layer name kept as a tick label (its end; longer names start with "…").
TICK_NAME_CHARS = 18


def shorten(name: str, width: int) -> str:
    """``name`` cut to its last ``width`` characters, "…" first when it was cut (legends and panel titles cut
    "0.layers.0.self_attn.out_proj" to "s.0.self_attn.out_proj" with no sign that it was)."""
    return name if len(name) <= width else "…" + name[len(name) - width + 1:]


def layer_tick_labels(names: list[str], width: int = TICK_NAME_CHARS) -> list[str]:
    """Tick labels for layer names: the last ``width`` characters, "…" marking a cut, and the row number (# in
    the tables: "#3 ...") before a label that would otherwise appear twice. Cut to their ends, the two attention
    output projections of a transformer ("0.layers.0.self_attn.out_proj", "0.layers.1.self_attn.out_proj") were
    both "self_attn.out_proj", and "layers.0.self_attn" did not say that its name was longer."""
    short = [shorten(n, width) for n in map(str, names)]
    seen: dict[str, int] = {}
    for s in short:
        seen[s] = seen.get(s, 0) + 1
    return [text(f"#{i} {s}" if seen[s] > 1 else s) for i, s in enumerate(short)]


def _layer_axis(ax: Any, names: list[str]) -> None:
    if len(names) <= MAX_NAMED_TICKS:
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(layer_tick_labels(names), rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("layer (input side left, loss side right)")
    else:
        ax.set_xlabel(f"{LAYER_ROWS_LABEL}, input side left, loss side right")


def _new(height: float, ncols: int = 1, nrows: int = 1, **kw: Any) -> tuple[Figure, Any]:
    fig = Figure(figsize=(FIG_WIDTH, height), dpi=FIG_DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def gradient_flow(data: RunData) -> Figure | None:
    """Nielsen's figure: backward-signal norm and ||grad W||/||W|| per layer (log scale) at the first, middle
    and last recorded steps."""
    panels = [(k, t) for k, t in (("signal_norm", "backward signal ‖∂L/∂(layer output)‖"),
                                  ("grad_ratio", "relative weight gradient ‖∇W‖/‖W‖"))
              if k in data.layer_stats and has_values(data.layer_stats[k])]
    if not panels or not data.n_steps:
        return None
    fig, axes = _new(4.2, ncols=len(panels))
    n = len(data.layers)
    for ax, (key, title) in zip(axes[0], panels):
        arr = data.layer_stats[key]
        cols = recorded_columns(arr)
        pos = [int(cols[p]) for p in step_positions(cols.size)]
        colors = plt.get_cmap("viridis")(np.linspace(0.15, 0.85, len(pos)))
        width = 0.8 / len(pos)
        for j, (p, c) in enumerate(zip(pos, colors)):
            label = f"step {int(data.steps[p])}"
            v = positive(arr[:, p])
            x = np.arange(n) + (j - (len(pos) - 1) / 2) * width if n <= MAX_BARS else np.arange(n)
            if n <= MAX_BARS:
                ax.bar(x, np.nan_to_num(v, nan=0.0), width, color=c, label=label)
            else:
                ax.plot(x, v, color=c, label=label, lw=1)
            mark_off_scale(ax, x, arr[:, p], c)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        _layer_axis(ax, data.layer_names)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3, which="major")
    return fig


def heatmap(data: RunData, sampling: Sampling | None = None) -> Figure | None:
    """log10 of the backward signal (and of ||grad W||/||W||) as a layer x step image over the whole run.

    ``sampling``: how ``data`` was downsampled (:func:`~graddoctor.present.sampling.load_for_display`). The
    displayed steps of a downsampled run are unevenly spaced (30 or 40 steps apart), and each column was as wide
    as the usual spacing, so the wider spacings drew white stripes, read as steps that recorded nothing. There,
    neighbouring columns meet halfway unless a NaN/Inf step lies between them."""
    keys = [k for k in ("signal_norm", "grad_ratio") if k in data.layer_stats and has_values(data.layer_stats[k])]
    if not keys or data.n_steps < 2:
        return None
    n = len(data.layers)
    fig, axes = _new(min(2.0 + 0.12 * n, 7.0) + 0.5, ncols=len(keys))
    for ax, key in zip(axes[0], keys):
        cols = recorded_columns(data.layer_stats[key])
        steps = data.steps[cols]
        vals = np.asarray(data.layer_stats[key][:, cols], dtype=np.float64)
        img = np.log10(positive(vals))
        # Exact zeros (a dead layer) and +Inf (an overflow) have no log10: drawn as NaN they were white, like
        # steps that recorded nothing. They get the colours below and above the scale, which the title names.
        zero, inf = vals == 0, np.isposinf(vals)
        lo, hi = (float(np.nanmin(img)), float(np.nanmax(img))) if np.isfinite(img).any() else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        img[zero], img[inf] = lo - 1.0, hi + 1.0
        cmap = plt.get_cmap("magma").with_extremes(under=HEATMAP_ZERO_COLOR, over=HEATMAP_INF_COLOR)
        im = step_image(ax, steps, img, cmap, lo, hi, (int(data.steps[0]), int(data.steps[-1])),
                        joined=_joined_columns(steps, sampling))
        extend = {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
            (bool(zero.any()), bool(inf.any())), "neither")
        fig.colorbar(im, ax=ax, label=f"log10 {key}", extend=extend)
        ax.xaxis.set_major_locator(step_locator())  # steps: no "0.2" ticks
        marks = [what for what, m in (("blue: exactly 0", zero), ("green: +Inf", inf)) if m.any()]
        later = _heatmap_nonfinite(ax, data, steps)
        ax.set_xlabel("step")
        ax.set_ylabel("layer (input side at top)" if n <= MAX_NAMED_TICKS else f"{LAYER_ROWS_LABEL},\ninput side at top")
        if n <= MAX_NAMED_TICKS:
            ax.set_yticks(range(n))
            ax.set_yticklabels(layer_tick_labels(data.layer_names), fontsize=7)
        ax.set_title(f"{key} per layer and step" + (f" ({', '.join(marks)})" if marks else "")
                     + (f"\n{later}" if later else ""), fontsize=10)
    return fig


def _joined_columns(steps: np.ndarray, sampling: Sampling | None) -> np.ndarray | None:
    """For a downsampled view: per pair of neighbouring drawn steps, True when no recorded NaN/Inf step lies
    between them (their columns then meet); None when the view shows every recorded step."""
    from .sampling import nonfinite_positions

    if sampling is None or not sampling.downsampled or steps.size < 2:
        return None
    bad = np.sort(sampling.curve_steps[nonfinite_positions(sampling.curves)])
    between = np.searchsorted(bad, steps[1:], side="left") - np.searchsorted(bad, steps[:-1], side="right")
    return np.asarray(between == 0)


def step_image(ax: Any, steps: np.ndarray, img: np.ndarray, cmap: Any, lo: float, hi: float,
               span: tuple[int, int], joined: np.ndarray | None = None) -> Any:
    """A layers x steps image whose column ``j`` is centred on ``steps[j]``, input side at the top.

    Each column is as wide as the typical spacing of the columns (their median gap; 1 for a single column),
    and neighbours closer than that meet halfway; a wider gap (NaN/Inf steps left out) stays blank, as the
    steps that recorded nothing are (white), and the image never reaches past the run's first and last steps
    (``span``). ``imshow`` spread the columns evenly from the first step to the last: each sat up to a column
    off its step, and past a gap a column showed another step's values at the position of a NaN step, under
    its cyan line. ``joined`` (one per pair of neighbouring columns): True where the two meet halfway whatever
    their distance (a downsampled view, whose spacing is uneven)."""
    from matplotlib.colors import Normalize

    n = img.shape[0]
    x = steps.astype(np.float64)
    half = float(np.median(np.diff(x))) / 2 if x.size > 1 else 0.5
    lefts, rights = x - half, x + half
    mids = (x[:-1] + x[1:]) / 2
    rights[:-1], lefts[1:] = np.minimum(rights[:-1], mids), np.maximum(lefts[1:], mids)
    if joined is not None:
        meet = np.flatnonzero(joined)
        rights[meet], lefts[meet + 1] = mids[meet], mids[meet]
    lefts[0], rights[-1] = max(lefts[0], span[0] - 0.5), min(rights[-1], span[1] + 0.5)
    edges, columns = [float(lefts[0])], []
    for j in range(x.size):
        if lefts[j] > edges[-1]:  # a gap wider than the usual spacing: a blank column
            columns.append(np.full(n, np.nan))
            edges.append(float(lefts[j]))
        columns.append(img[:, j])
        edges.append(float(rights[j]))
    im = ax.pcolorfast(np.array(edges), np.arange(n + 1, dtype=np.float64) - 0.5,
                       np.ma.masked_invalid(np.stack(columns, axis=1)), cmap=cmap, norm=Normalize(vmin=lo, vmax=hi))
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(n - 0.5, -0.5)
    return im


def mark_nonfinite_steps(ax: Any, data: RunData, label: bool = True) -> bool:
    """Red lines at the steps whose loss or gradients were NaN/Inf, on an axis over steps whose x range then
    covers the whole run: the per-layer statistics of those steps are NaN, so a figure drawn from the finite
    ones ended at the last finite step, as if the run had stopped there (a 200-step run that overflowed at step
    3 drew a heatmap of steps 0-2). True when there was any."""
    from .sampling import nonfinite_positions

    bad = nonfinite_positions(data.step_stats) if data.n_steps else np.zeros(0, dtype=np.int64)
    if not bad.size:
        return False
    lo, hi = ax.get_xlim()
    ax.vlines(data.steps[bad], 0, 1, transform=ax.get_xaxis_transform(), color="tab:red", alpha=0.5, lw=0.8,
              label=f"non-finite ({bad.size} steps)" if label else None)
    ax.set_xlim(min(lo, float(data.steps[0])), max(hi, float(data.steps[-1])))
    return True


def _heatmap_nonfinite(ax: Any, data: RunData, drawn: np.ndarray) -> str:
    """A heatmap's NaN/Inf steps: cyan lines inside the drawn steps, and a word in the title for those before
    the first or after the last finite column (they are not drawn: widening the image to them left the finite
    columns a sliver)."""
    from .sampling import nonfinite_positions

    bad = data.steps[nonfinite_positions(data.step_stats)] if data.n_steps else np.zeros(0, dtype=np.int64)
    if not bad.size or not drawn.size:
        return ""
    inside = bad[(bad >= drawn[0]) & (bad <= drawn[-1])]
    if inside.size:
        ax.vlines(inside, 0, 1, transform=ax.get_xaxis_transform(), color=HEATMAP_NONFINITE_COLOR, lw=0.8)
    out = ["cyan lines: NaN/Inf steps"] if inside.size else []
    for which, outside in (("earlier", bad[bad < drawn[0]]), ("later", bad[bad > drawn[-1]])):
        if outside.size:  # an overflow at the start (a GradScaler finding its scale) or one the run never left
            out.append(f"NaN/Inf at {outside.size} {which} steps ({int(outside[0])}-{int(outside[-1])}), not drawn")
    return "; ".join(out)


def _lines_by_depth(ax: Any, data: RunData, key: str, log: bool) -> bool:
    arr = data.layer_stats.get(key)
    if arr is None or not has_values(arr):
        return False
    # only the layers that measured it: the output layer (no activation) was listed in the legend of the
    # saturated and dead fractions with nothing drawn, and took one of the MAX_LINES from a layer that had values
    measured = np.flatnonzero(~np.isnan(np.asarray(arr, dtype=np.float64)).all(axis=1))
    idx = [int(measured[k]) for k in pick_layers(measured.size)]
    cmap = plt.get_cmap("viridis")
    for k, i in enumerate(idx):
        v = positive(arr[i]) if log else np.asarray(arr[i], dtype=np.float64)
        m = np.isfinite(v)  # statistics of detail steps are missing (NaN) on the other steps
        color = cmap(k / max(1, len(idx) - 1))
        ax.plot(data.steps[m], v[m], color=color, lw=1, label=text(shorten(data.layers[i].name, 24)),
                marker="." if m.sum() < FEW_POINTS else None)
        if log:
            mark_off_scale(ax, data.steps, arr[i], color)
    mark_nonfinite_steps(ax, data)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(step_locator())  # steps: no 0.02 ticks in a 1-step run
    return True


def update_speed(data: RunData) -> Figure | None:
    """Relative update ||dW||/||W|| per layer over steps, with the 1e-3 rule-of-thumb band."""
    if not data.n_steps:
        return None
    fig, axes = _new(4.0)
    ax = axes[0][0]
    if not _lines_by_depth(ax, data, "update_ratio", log=True):
        return None
    ax.axhspan(*UPDATE_RATIO_BAND, color="tab:green", alpha=0.12, label="rule-of-thumb band")
    ax.axhline(UPDATE_RATIO_TARGET, color="tab:green", lw=1, ls="--", label="1e-3")
    ax.set_ylabel("‖ΔW‖/‖W‖ per step")
    ax.set_title("learning speed of each layer (colour: depth, dark = input side)", fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="best")
    return fig


def activations(data: RunData) -> Figure | None:
    """Glorot & Bengio Fig. 2 style: per layer, the mean activation and its 2nd-98th percentile band over steps."""
    mean = data.layer_stats.get("act_mean")
    if mean is None or not has_values(mean) or not data.n_steps:
        return None
    with_act = [i for i, layer in enumerate(data.layers) if layer.activation] or list(range(len(data.layers)))
    idx = [with_act[k] for k in pick_layers(len(with_act), MAX_PANELS)]
    ncols = min(4, len(idx))
    nrows = (len(idx) + ncols - 1) // ncols
    fig, axes = _new(2.2 * nrows + 0.4, ncols=ncols, nrows=nrows, sharex=True)
    lo, hi = data.layer_stats.get("act_p02"), data.layer_stats.get("act_p98")
    for k, ax in enumerate(axes.flat):
        if k >= len(idx):
            ax.set_visible(False)
            continue
        i = idx[k]
        layer = data.layers[i]
        m = np.isfinite(mean[i])  # recorded on detail steps only
        if lo is not None and hi is not None and has_values(lo[i]):
            mb = m & np.isfinite(lo[i]) & np.isfinite(hi[i])
            ax.fill_between(data.steps[mb], lo[i][mb], hi[i][mb], color="tab:blue", alpha=0.2,
                            label="2nd-98th pct")
        ax.plot(data.steps[m], mean[i][m], color="tab:blue", lw=1.2, label="mean",
                marker="." if m.sum() < FEW_POINTS else None)
        mark_nonfinite_steps(ax, data)
        ax.set_title(text(f"{shorten(layer.name, 22)} ({layer.activation or 'no act.'})"), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(step_locator())
        if k == 0:
            ax.legend(fontsize=7)
    fig.suptitle("activation values over training (mean and 2nd/98th percentiles)", fontsize=10)
    fig.supxlabel("step", fontsize=9)  # the only figure over steps whose axis did not say what it counts
    return fig


def saturation(data: RunData) -> Figure | None:
    """Saturated fraction and dead-unit fraction per layer over steps."""
    keys = [(k, t) for k, t in (("act_saturated", "saturated fraction (σ′ < 1 % of max)"),
                                ("act_dead", "dead fraction (ReLU zero on every sample)"))
            if k in data.layer_stats and has_values(data.layer_stats[k])]
    if not keys or not data.n_steps:
        return None
    fig, axes = _new(3.4, ncols=len(keys))
    for ax, (key, title) in zip(axes[0], keys):
        _lines_by_depth(ax, data, key, log=False)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, ncol=2)
    return fig


def time_signal(data: RunData) -> Figure | None:
    """||dL/dx_t|| against the distance from the loss for each recurrent layer, memory horizon marked."""
    from ..stats.series import memory_horizon

    series = data.series.get("time_signal") or {}
    series = {k: v for k, v in series.items() if v[1].size and has_values(v[1])}
    if not series:
        return None
    names = list(series)[:MAX_PANELS]
    fig, axes = _new(3.6, ncols=len(names))
    for ax, name in zip(axes[0], names):
        steps, mat = series[name]
        pos = step_positions(len(steps))
        colors = plt.get_cmap("viridis")(np.linspace(0.15, 0.85, len(pos)))
        for p, c in zip(pos, colors):
            profile = np.asarray(mat[p], dtype=np.float64)
            profile = profile[np.isfinite(profile)]
            dist = np.arange(profile.size)[::-1]
            ax.plot(dist, positive(profile), color=c, lw=1.2, label=f"step {int(steps[p])}")
        last = np.asarray(mat[pos[-1]], dtype=np.float64)
        last = last[np.isfinite(last)]
        horizon = memory_horizon(last.tolist(), HORIZON_FACTOR)
        if horizon is not None:
            ax.axvline(horizon, color="tab:red", ls="--", lw=1, label=f"memory horizon {horizon}")
        else:
            ax.text(0.02, 0.04, f"horizon ≥ sequence length {last.size}", transform=ax.transAxes, fontsize=7)
        ax.set_yscale("log")
        ax.set_xlabel("distance from the loss (time steps)")
        ax.set_ylabel("‖∂L/∂x_t‖")
        ax.set_title(text(name, 30), fontsize=9)
        ax.legend(fontsize=7)
    return fig


def loss_curves(data: RunData, sampling: Sampling | None = None) -> Figure | None:
    """Loss and total gradient norm over every recorded step, with non-finite steps marked in red."""
    from .sampling import nonfinite_positions

    steps = sampling.curve_steps if sampling is not None and sampling.curve_steps.size else data.steps
    curves = sampling.curves if sampling is not None and sampling.curves else data.step_stats
    named = [(k, t) for k, t in (("loss", "loss"), ("total_grad_norm", "total gradient norm ‖∂L/∂θ‖"))
             if k in curves]
    panels = [(k, t) for k, t in named if has_values(curves[k])]
    bad = steps[nonfinite_positions(curves)] if steps.size else steps
    if not panels:
        if not bad.size:
            return None
        # NaN/Inf from the first step on: the red marks are the whole story, where the section used to say that
        # no loss or gradient norm was recorded. A NaN loss is stored as "not given", so the loss panel is drawn
        # only when the run logged a loss on every step (meta "loss_every_step").
        panels = [(k, t) for k, t in named if k != "loss" or data.meta.get("loss_every_step") is True]
        if not panels:
            return None
    keep = np.unique(np.linspace(0, steps.size - 1, min(steps.size, MAX_CURVE_POINTS)).round().astype(int))
    fig, axes = _new(3.4, ncols=len(panels))
    for ax, (key, title) in zip(axes[0], panels):
        raw = np.asarray(curves[key][keep], dtype=np.float64)
        log = log_axis_fits(raw)
        v = positive(raw) if log else raw
        m = np.isfinite(v)  # a loss that was not logged at some steps leaves gaps, not broken lines
        ax.plot(steps[keep][m], v[m], lw=1, color="tab:blue", marker="." if m.sum() < FEW_POINTS else None)
        if log:
            ax.set_yscale("log")
            mark_off_scale(ax, steps[keep], np.where(np.isposinf(raw), np.nan, raw), "tab:blue")
        if bad.size:
            ax.vlines(bad, 0, 1, transform=ax.get_xaxis_transform(), color="tab:red", alpha=0.5, lw=0.8,
                      label=f"non-finite ({bad.size} steps)")
            if not m.any():
                ax.text(0.5, 0.5, f"no finite value: NaN/Inf at {bad.size} of {steps.size} recorded steps",
                        transform=ax.transAxes, ha="center", va="center", fontsize=9, color="tab:red")
                ax.set_yticks([])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(step_locator())
        ax.set_title(title, fontsize=10)
    return fig


def check_layers(rows: list[dict[str, Any]]) -> Figure | None:
    """For a one-batch check: each numeric per-layer column among the gradient-flow ones, log scale vs depth."""
    keys = [k for k in ("signal", "signal_norm", "grad_ratio", "weight_grad_norm", "gain") if any(
        isinstance(r.get(k), (int, float)) and r.get(k) for r in rows)][:2]
    if not rows or not keys:
        return None
    fig, axes = _new(4.0, ncols=len(keys))
    names = [str(r.get("name", r.get("layer", i))) for i, r in enumerate(rows)]
    for ax, key in zip(axes[0], keys):
        raw = [r.get(key) if isinstance(r.get(key), (int, float)) else np.nan for r in rows]
        ax.bar(range(len(rows)), np.nan_to_num(positive(raw), nan=0.0), color="tab:blue")
        ax.set_yscale("log")
        mark_off_scale(ax, np.arange(len(rows)), raw, "tab:blue")  # a dead layer's 0 drew no bar
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.set_title(f"{key} per layer", fontsize=10)
        _layer_axis(ax, names)
    return fig


def compare_flow(before: RunData, after: RunData, labels: tuple[str, str] = ("baseline", "repaired")) -> Figure | None:
    """Backward signal and update ratio per layer at the last recorded step of two runs, overlaid (log scale):
    the vanishing gradient of the baseline beside the repaired run. Each run is drawn against its own layer
    positions (a remedy may add layers)."""
    panels = [(k, t) for k, t in (("signal_norm", "backward signal ‖∂L/∂(layer output)‖"),
                                  ("update_ratio", "relative update ‖ΔW‖/‖W‖"))
              if all(k in d.layer_stats and d.n_steps and has_values(d.layer_stats[k]) for d in (before, after))]
    if not panels:
        return None
    fig, axes = _new(3.8, ncols=len(panels))
    for ax, (key, title) in zip(axes[0], panels):
        for d, lab, color in ((before, labels[0], "tab:red"), (after, labels[1], "tab:green")):
            ax.plot(np.arange(len(d.layers)), positive(d.at_step(key)), "o-", color=color, lw=1.2, ms=3,
                    label=f"{lab} (step {int(d.steps[-1])})")
            mark_off_scale(ax, np.arange(len(d.layers)), d.at_step(key), color)
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("layer position (input side left)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    return fig


@dataclass
class FigureSpec:
    """One figure of a report: its file stem, caption and the function that draws it."""

    key: str
    title: str
    caption: str
    draw: Callable[..., Figure | None]


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (closed afterwards)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # A layer name in a script the font lacks (CJK, emoji) draws as boxes; matplotlib warns once per
        # character and figure, which flooded stderr with dozens of lines. The HTML text shows the name.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        # metadata: matplotlib writes "Software: Matplotlib version X, https://matplotlib.org/" into every PNG,
        # so the report that "loads nothing from the network" carried a remote URL in each embedded figure
        fig.savefig(buf, format="png", dpi=FIG_DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI for embedding in HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def write_pngs(pngs: dict[str, bytes], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write each PNG to ``out_dir/<key>.png`` (the folder is created) and return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, png in pngs.items():
        p = out / f"{key}.png"
        p.write_bytes(png)
        paths.append(p)
    return paths
