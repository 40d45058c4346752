"""Causes: why a signal shrinks or grows, and which remedies to try first.

* :func:`factorise` splits each layer's backward gain into Nielsen's two factors (ch. 5, eq. 124,
  δˡ = Σ′(zˡ)(Wˡ⁺¹)ᵀδˡ⁺¹) in measurable form: the *weight factor* of layer l+1, ‖(Wˡ⁺¹)ᵀδˡ⁺¹‖/‖δˡ⁺¹‖ =
  in_signal[l+1]/signal[l+1], and the *activation factor* of layer l, signal[l]/in_signal[l+1] (everything
  between the two weight layers: the activation derivative, pooling, dropout...). Their product is the gain
  signal[l]/signal[l+1]. The mean derivative act_deriv is reported beside it.
* :func:`init_audit` compares each weight layer's variance with Xavier 2/(fan_in+fan_out) (Glorot & Bengio
  2010, eq. 12) and He 2/fan_in (He et al. 2015, eq. 10), choosing the reference by the activation after it.
* :func:`structure` recognises architecture-level causes.
* :func:`rank_remedies` orders remedy codes by the causes found.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..stats.kinds import RELU_FAMILY, SATURATING
from .context import Context, fnum, nanmedian

#: Init audit: a layer's variance below this fraction of its reference is "too small". PyTorch's default
#: (Kaiming-uniform with a=sqrt(5), Var = 1/(3 fan_in)) is 1/6 of He and 1/3 of Xavier at equal widths; it is
#: a deliberate library default, so the bound sits below it: 0.1 (a signal shrink of sqrt(0.1)~0.32 per
#: layer, 1e-5 after 10 layers).
INIT_TOO_SMALL = 0.1
#: ... above this multiple of the reference is "too large" (growth of sqrt(10)~3.2 per layer).
INIT_TOO_LARGE = 10.0
#: Name parts of low-rank adapters' up-projections (PEFT's LoRA: ``lora_B``, ``lora_embedding_B``): they start
#: at zero on purpose, so the adapted model starts equal to the pretrained one (Hu et al. 2021, LoRA, sec. 4.1),
#: and their variance "too small" is no finding (nor a cause of one).
LORA_UP_NAMES = frozenset({"lora_B", "lora_embedding_B"})
#: Learning rate too high when the first recorded update moves the weights by more than this fraction
#: (rule of thumb: healthy ‖ΔW‖/‖W‖ is around 1e-3 per step; 0.1 is 100 times that).
FIRST_UPDATE_TOO_LARGE = 0.1
#: Inputs count as unnormalized when |mean| or rms falls outside these bounds (standardised inputs have mean
#: 0, rms 1: LeCun et al. 1998, "Efficient BackProp", sec. 4.3). A factor of 10 either way is tolerated.
INPUT_MAX_ABS_MEAN = 3.0
INPUT_RMS_RANGE = (0.1, 10.0)
#: A run records no input statistics; :func:`estimated_input_rms` infers the input rms from the first layer
#: (out_rms / (weight rms x sqrt(fan_in)), a random projection), and counts it as unnormalized only beyond this
#: factor outside :data:`INPUT_RMS_RANGE` (rms above 30 or below 1/30). Measured on digits: 0.9-1.1x the true
#: rms for fresh Linear and Conv layers (PyTorch default and He init; pixels /16, raw, standardised, 0-255),
#: 0.56x for digits x1000 (its first SGD update grew the weights), 0.87-1.44x for a first layer trained 300
#: Adam steps (a fine-tuned, pretrained layer is correlated with its inputs); 3 covers that spread.
RUN_INPUT_RMS_SLACK = 3.0
#: A run's weights count as *grown by training* when the median over the affected layers of ‖W‖ at the examined
#: step over ‖W‖ at the first recorded step is at least this (the non_finite detector's ``growth_factor``:
#: one order of magnitude). Healthy runs keep it near 1: 0.76-2.1x over whole runs of QA passes 3 and 6 (SGD,
#: Adam over 3,000 steps, AdamW with warmup and cosine decay, BatchNorm ResNets, SELU); a learning rate raised 400x
#: after 100 healthy steps grew a tanh MLP's weights 5x per step. Then a growing signal is the training's
#: doing, not the initialisation's, whatever the weight factor says (:func:`trained_weight_growth`).
WEIGHTS_GROWN = 10.0
#: ``depth_without_normalization`` ("many layers in a row ... so per-layer factors compound") needs at least this
#: many layers in the depth chain: two layer-to-layer steps, the vanishing detector's ``min_transitions`` (one
#: step is one layer's gain, not a compounding). Below it the cause was cited for a recurrent layer and its
#: Linear readout (a chain of one layer: recurrent layers are a time-axis matter).
MIN_DEPTH_LAYERS = 3
#: A plain RNN counts as "on a long sequence" from this many time steps (Hochreiter & Schmidhuber 1997,
#: Task 2c: BPTT/RTRL "appear quite useless when the time lags exceed as few as 10 steps").
LONG_SEQUENCE = 10

#: Remedies per cause, best first.
CAUSE_REMEDIES: dict[str, list[str]] = {
    "saturating_activation": ["use_relu_family", "xavier_init", "add_batchnorm"],
    "init_scale_too_small": ["he_init", "orthogonal_init", "lsuv_init"],
    "init_scale_too_large": ["he_init", "lsuv_init", "add_batchnorm", "clip_grad_norm"],
    "depth_without_normalization": ["add_batchnorm", "add_residual", "add_layernorm"],
    "plain_rnn_long_sequence": ["use_lstm_or_gru", "orthogonal_init", "clip_grad_norm"],
    "forget_gate_closed": ["forget_gate_bias", "orthogonal_init"],
    "learning_rate_too_high": ["lower_learning_rate", "lr_warmup", "clip_grad_norm", "use_adam"],
    "learning_rate_too_low": ["raise_learning_rate", "use_adam"],
    "unnormalized_inputs": ["normalize_inputs"],
    "non_finite_inputs": ["sanitize_inputs"],
    "non_finite_parameters": [],  # the weights as loaded: nothing a remedy can change (codes.py says what to do)
    "unsafe_op": ["guard_unsafe_op"],
    "non_finite_loss": [],  # the targets or the loss function: nothing graddoctor can change (codes.py says what to do)
    "post_layernorm": ["pre_layernorm", "lr_warmup"],
    "weight_decay_only": ["he_init", "add_batchnorm", "add_residual"],
    "high_learning_rate_relu": ["lower_learning_rate", "use_leaky_relu", "he_init"],
    "preactivation_shift": ["he_init", "normalize_inputs", "add_batchnorm"],
    "gradient_cliff": ["clip_grad_norm", "lower_learning_rate"],
    "dead_relu_units": ["lower_learning_rate", "use_leaky_relu", "he_init"],
    "large_loss_gradient": ["lower_learning_rate", "use_adam", "clip_grad_norm"],
    "unknown": [],
}


#: Remedies of a finding kind whose causes name none (cause ``unknown`` alone), so that a problem never comes
#: without something to try; ``graddoctor repair`` then proves or disproves them by trial. Vanishing: an
#: orthogonal init keeps every singular value of each layer (and of a recurrent layer's recurrent weights) at
#: 1, so the product over layers or time steps neither shrinks nor grows at the start (Saxe et al. 2014); LSUV
#: rescales any Linear/Conv layer to unit output variance on a real batch, whatever the architecture (Mishkin &
#: Matas 2016); Adam's per-parameter steps do not depend on the gradient's scale (Kingma & Ba 2015, sec. 2.1),
#: so layers with small gradients still move. Exploding findings always get ``clip_grad_norm``
#: (:func:`rank_remedies`), dead units their ReLU remedies (the dead_units detector).
GENERIC_REMEDIES: dict[str, list[str]] = {
    "vanishing_gradient": ["orthogonal_init", "lsuv_init", "use_adam"],
}


def factorise(ctx: Context, col: int, chain: list[int] | None = None) -> list[dict[str, Any]]:
    """Nielsen factorisation along the depth chain at step column ``col``.

    Returns one row per chain layer (forward order): ``gain`` = signal[l]/signal[next], ``weight_factor`` of the
    next layer, ``activation_factor`` of this layer, ``act_deriv`` (mean derivative of the activation after
    it). The last chain layer has gain NaN.
    """
    chain = ctx.chain() if chain is None else chain
    col = ctx.detail_col(col)  # dL/d(input) exists on detail steps only
    sig = ctx.stat("signal_norm")[:, col]
    ins = ctx.stat("in_signal_norm")[:, col]
    der = ctx.stat("act_deriv")[:, col]
    rows = []
    with np.errstate(all="ignore"):
        for k, i in enumerate(chain):
            row: dict[str, Any] = {"layer": ctx.layers[i].name, "signal": float(sig[i]),
                                   "act_deriv": float(der[i]), "activation": ctx.activation_kind(i)}
            if k + 1 < len(chain):
                j = chain[k + 1]
                row["gain"] = float(sig[i] / sig[j])
                row["weight_factor"] = float(ins[j] / sig[j])
                row["activation_factor"] = float(sig[i] / ins[j])
            else:
                row["gain"] = row["weight_factor"] = row["activation_factor"] = float("nan")
            rows.append(row)
    return rows


def dominant_factor(rows: list[dict[str, Any]], shrink: bool) -> tuple[str | None, dict[str, float]]:
    """Which factor accounts for most of the shrink (``shrink=True``) or growth across ``rows``.

    Returns ("activation" | "weight" | None, {"log10_activation": ..., "log10_weight": ...}).
    """
    la = [np.log10(r["activation_factor"]) for r in rows
          if np.isfinite(r.get("activation_factor", np.nan)) and r["activation_factor"] > 0]
    lw = [np.log10(r["weight_factor"]) for r in rows
          if np.isfinite(r.get("weight_factor", np.nan)) and r["weight_factor"] > 0]
    sa, sw = float(np.sum(la)) if la else float("nan"), float(np.sum(lw)) if lw else float("nan")
    ev = {"log10_activation": fnum(sa), "log10_weight": fnum(sw)}
    if not (np.isfinite(sa) and np.isfinite(sw)):
        return None, ev
    if shrink:
        return ("activation" if sa < sw else "weight"), ev
    return ("activation" if sa > sw else "weight"), ev


def _weight_count(info: dict[str, Any]) -> int:
    return int(sum(int(np.prod(s)) for n, s in (info.get("params") or {}).items() if "bias" not in n))


def init_audit(ctx: Context, col: int = 0, too_small: float = INIT_TOO_SMALL,
               too_large: float = INIT_TOO_LARGE) -> list[dict[str, Any]]:
    """Weight variance of each chain layer against Xavier and He, at step column ``col`` (0: the first).

    The variance is ‖W‖²/n (zero-mean weights). The reference is He for a ReLU-family activation after the
    layer, Xavier otherwise. ``factor`` = variance / reference; ``verdict`` is ``"too_small"``,
    ``"too_large"`` or ``"ok"`` (bounds ``too_small``, ``too_large``: :data:`INIT_TOO_SMALL`,
    :data:`INIT_TOO_LARGE`).

    A run records the weight norm *after* each optimizer step, so its first column already holds the first
    update. With that step's relative update ρ = ‖ΔW‖/‖W‖ (recorded on the same step), the norm before it lies
    within ‖W‖·[1 − ρ, 1 + ρ] (triangle inequality): ``factor_range`` is that range of factors, and a verdict
    other than ``"ok"`` needs the whole range beyond its bound. At a sane learning rate ρ is ~1e-3 and nothing
    changes; at lr 1e6 the first step multiplied the weights by ~1e3, and a PyTorch-default init read as
    "2e7 x the variance-preserving value" (tests/regressions/test_qa4_diag_init_audit_first_update.py).
    """
    if ctx.n_steps == 0:
        return []
    wn = ctx.stat("weight_norm")[:, col]
    upd = ctx.stat("update_ratio")[:, col] if ctx.source == "run" and col == 0 else np.full(len(ctx.layers), np.nan)
    chain = ctx.chain()
    out = []
    for i in chain:
        layer = ctx.layers[i]
        fi, fo = layer.info.get("fan_in"), layer.info.get("fan_out")
        n = _weight_count(layer.info)
        if not fi or not fo or n == 0 or not np.isfinite(wn[i]):
            continue
        var = float(wn[i]) ** 2 / n
        kind = ctx.activation_kind(i)
        xavier, he = 2.0 / (fi + fo), 2.0 / fi
        ref_name, ref = ("he", he) if kind in RELU_FAMILY else ("xavier", xavier)
        factor = var / ref
        lo = hi = factor
        rho = float(upd[i])
        if np.isfinite(rho) and rho > 0:  # the norm before the first update: ‖W‖·[1 − ρ, 1 + ρ]
            lo, hi = factor * max(0.0, 1.0 - rho) ** 2, factor * (1.0 + rho) ** 2
        verdict = "too_small" if hi < too_small else "too_large" if lo > too_large else "ok"
        zero_by_design = verdict == "too_small" and not LORA_UP_NAMES.isdisjoint(layer.name.split("."))
        if zero_by_design:
            verdict = "ok"
        row = {"layer": layer.name, "variance": fnum(var), "xavier": fnum(xavier), "he": fnum(he),
               "reference": ref_name, "factor": fnum(factor), "verdict": verdict, "last": i == chain[-1]}
        if zero_by_design:
            row["note"] = "a LoRA up-projection starts at zero by design"
        if lo != hi:
            row["factor_range"] = [fnum(lo), fnum(hi)]
        out.append(row)
    return out


def structure(ctx: Context) -> dict[str, Any]:
    """Architecture facts that explain findings (all from layer types, metadata and check observations)."""
    chain = ctx.chain()
    kinds = [ctx.activation_kind(i) for i in chain]
    sat = [ctx.layers[i].name for i, k in zip(chain, kinds) if k in SATURATING]
    rnn = [layer.name for layer in ctx.layers if layer.type == "RNN"]
    s: dict[str, Any] = {
        "depth": len(chain),
        "has_norm": ctx.has_norm,
        "has_residual": ctx.has_residual,
        "saturating_layers": sat,
        "plain_rnn_layers": rnn,
        "post_layernorm": _post_ln(ctx),
    }
    upd = ctx.stat("update_ratio")
    if ctx.source == "run" and upd.shape[1]:
        s["first_update_ratio"] = fnum(nanmedian(upd[:, 0]))
    inp = input_stats(ctx)
    if inp:
        s["inputs"] = inp
    if "forget_gate_bias" in ctx.extra:
        s["forget_gate_bias"] = ctx.extra["forget_gate_bias"]
    return s


def _post_ln(ctx: Context) -> bool:
    """Post-LN transformer layers: torch's TransformerEncoderLayer with norm_first=False (recorded by check)."""
    if "post_layernorm" in ctx.extra or ctx.source != "run":
        return bool(ctx.extra.get("post_layernorm", False))
    return bool(post_ln_blocks(ctx))


def post_ln_blocks(ctx: Context) -> list[str]:
    """A run's Post-LN blocks, from the forward order (a run does not record ``norm_first``): the blocks holding
    an ``nn.MultiheadAttention`` and a norm layer whose last called layer is a norm layer. A Post-LN block
    (torch's TransformerEncoderLayer with norm_first=False: self_attn, norm1, linear1, linear2, norm2) ends with
    its norm after the residual addition; a Pre-LN one (norm1, self_attn, norm2, linear1, linear2) with its
    feed-forward output."""
    out = []
    for attn in (layer for layer in ctx.layers if layer.type == "MultiheadAttention" and "." in layer.name):
        prefix = attn.name.rsplit(".", 1)[0] + "."
        block = [i for i, layer in enumerate(ctx.layers) if layer.name.startswith(prefix) and layer.order is not None]
        if block and any(ctx.is_norm(i) for i in block) and ctx.is_norm(max(block, key=lambda i: ctx.layers[i].order
                                                                           or 0)):
            out.append(prefix[:-1])
    return out


def input_stats(ctx: Context) -> dict[str, Any]:
    """The input statistics a check measured, or a run's estimate (:func:`estimated_input_rms`); {} if none."""
    inp = ctx.extra.get("inputs") or {}
    if not inp and ctx.source == "run":
        inp = estimated_input_rms(ctx) or {}
    return dict(inp)


def estimated_input_rms(ctx: Context) -> dict[str, Any] | None:
    """A run's input rms inferred from its first layer (forward order), when that is a Linear or Conv layer of
    the depth chain: at the first column where its output rms and weight norm were recorded, x_rms =
    out_rms / (w_rms·√fan_in), the scale of a random projection (weights uncorrelated with the input, as at
    init; the bias is neglected). The recorded weight norm is the one after that step's update ρ, so the
    weights before it lay within ‖W‖·[1 − ρ, 1 + ρ] and ``rms_range`` holds the matching estimates. None when
    the first layer is anything else (an embedding, a norm layer, a recurrent layer) or was not measured."""
    called = [i for i in range(len(ctx.layers)) if ctx.layers[i].order is not None]
    if not called:
        return None
    i = min(called, key=lambda j: ctx.layers[j].order or 0)
    info = ctx.layers[i].info
    fan_in, n = info.get("fan_in"), _weight_count(info)
    if i not in ctx.chain() or not (ctx.layers[i].type.endswith("Linear") or info.get("conv")) \
            or not isinstance(fan_in, int) or fan_in < 1 or n == 0:
        return None
    out, wn, upd = ctx.stat("out_rms")[i], ctx.stat("weight_norm")[i], ctx.stat("update_ratio")[i]
    cols = np.flatnonzero(np.isfinite(out) & np.isfinite(wn) & (np.asarray(wn) > 0))
    if not cols.size:
        return None
    c = int(cols[0])
    rho = float(upd[c]) if np.isfinite(upd[c]) else 0.0
    rms = float(out[c]) / (float(wn[c]) / np.sqrt(n) * np.sqrt(fan_in))
    return {"float": True, "rms": fnum(rms), "estimated": True, "layer": ctx.layers[i].name,
            "rms_range": [fnum(rms / (1 + rho)), fnum(rms / max(1 - rho, 1e-12))]}


def inputs_unnormalized(inp: dict[str, Any]) -> bool:
    """True when float inputs are far from zero mean and unit scale (see :data:`INPUT_RMS_RANGE`); for a run's
    estimate (:func:`estimated_input_rms`) only when its whole range lies :data:`RUN_INPUT_RMS_SLACK` x beyond
    the bounds."""
    if not inp or not inp.get("float"):
        return False
    lo, hi = INPUT_RMS_RANGE
    if inp.get("estimated"):
        low, high = inp.get("rms_range") or (float("nan"), float("nan"))
        return bool(np.isfinite(low) and np.isfinite(high) and (low > hi * RUN_INPUT_RMS_SLACK
                                                                or high < lo / RUN_INPUT_RMS_SLACK))
    mean, rms, std = inp.get("mean"), inp.get("rms"), inp.get("std")
    if mean is None or rms is None or not np.isfinite(rms):
        return False
    off_centre = std is not None and std > 0 and abs(mean) > INPUT_MAX_ABS_MEAN * std
    return bool(rms < lo or rms > hi or off_centre)


def trained_weight_growth(ctx: Context, layers: list[int], col: int) -> float | None:
    """A run's weight growth by training: the median over ``layers`` of ‖W‖ at the last column <= ``col`` where
    it was recorded over ‖W‖ at the first such column. Layers that started at zero or below the init audit's
    too-small bound are left out (they are meant to grow). None for a check, or when nothing was measured."""
    if ctx.source != "run" or ctx.n_steps < 2:
        return None
    wn = ctx.stat("weight_norm")
    if wn.size == 0:
        return None
    rows = wn[layers, :col + 1]
    cols = np.flatnonzero(np.isfinite(rows).any(axis=0))
    if cols.size < 2:
        return None
    small = {a["layer"] for a in init_audit(ctx, 0) if a["verdict"] == "too_small"}
    keep = [k for k, i in enumerate(layers) if ctx.layers[i].name not in small]
    a, b = rows[keep, cols[0]], rows[keep, cols[-1]]
    with np.errstate(all="ignore"):
        r = np.where(np.isfinite(a) & (a > 0) & np.isfinite(b), b / a, np.nan)
    return float(nanmedian(r)) if np.isfinite(r).any() else None


def depth_causes(ctx: Context, layers: list[int], shrink: bool, col: int) -> tuple[list[str], dict[str, Any]]:
    """Causes of a depth-axis shrink (``shrink=True``) or growth over the chain ``layers``, most likely first,
    with the evidence behind them (factorisation, init audit, structure)."""
    names_set = {ctx.layers[i].name for i in layers}
    full = ctx.chain()  # factorise over the whole chain so the last span layer gets its gain to the next one
    rows = [r for r in factorise(ctx, col, full if set(layers) <= set(full) else layers) if r["layer"] in names_set]
    dom, logs = dominant_factor(rows, shrink)
    audit = {a["layer"]: a for a in init_audit(ctx, 0)}
    names = [ctx.layers[i].name for i in layers]
    bad_init = [a for n, a in audit.items() if n in names and not a["last"]
                and a["verdict"] == ("too_small" if shrink else "too_large")]
    st = structure(ctx)
    kinds = {ctx.activation_kind(i) for i in layers}
    causes: list[str] = []
    saturating = bool(kinds & SATURATING)
    relu = bool(kinds & RELU_FAMILY) and not saturating
    init_code = "init_scale_too_small" if shrink else "init_scale_too_large"
    # weights that training grew by an order of magnitude: the growth is the step size's doing, and an init the
    # audit finds fine is no cause (a tanh MLP whose learning rate was raised 400x after 100 healthy steps read
    # as "init_scale_too_large" beside an audit of 0.33-0.48 x Xavier)
    grown = None if shrink else trained_weight_growth(ctx, layers, col)
    grown_by_training = grown is not None and grown >= WEIGHTS_GROWN
    if dom == "activation" and saturating:
        causes.append("saturating_activation")
    # A ReLU passes about half of the signal's energy; He init exists to compensate exactly that, so a
    # ReLU-dominated shrink is an init that does not compensate (He et al. 2015, eq. 10 vs Xavier).
    if bad_init or (dom == "weight" and not grown_by_training) or (shrink and dom == "activation" and relu):
        causes.append(init_code)
    if saturating and "saturating_activation" not in causes:
        causes.append("saturating_activation")
    if inputs_unnormalized(st.get("inputs", {})):
        causes.append("unnormalized_inputs")
    if not shrink and (grown_by_training or st.get("first_update_ratio")
                       and st["first_update_ratio"] > FIRST_UPDATE_TOO_LARGE):
        causes.insert(0, "learning_rate_too_high")
    if not st["has_norm"] and st["has_residual"] is not True and st["depth"] >= MIN_DEPTH_LAYERS:
        causes.append("depth_without_normalization")
    if st.get("post_layernorm"):
        causes.append("post_layernorm")
    if not causes:
        causes.append("unknown")
    ev = {"dominant_factor": dom, **logs, **({"weight_growth_since_first_step": fnum(grown)} if grown else {}),
          "factors": [{k: (fnum(v) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
          "init_audit": [audit[n] for n in names if n in audit]}
    return causes, ev


def rank_remedies(causes: list[str], kind: str | None = None, *, recurrent: bool = False,
                  saturating: bool = False) -> list[str]:
    """Remedy codes, best first: the remedies of each cause in cause order, without repeats.

    Args:
        causes: cause codes, most likely first.
        kind: the finding kind; exploding findings put clipping first in recurrent nets (Pascanu et al. 2013).
        recurrent: whether the affected layers are recurrent.
        saturating: whether a saturating activation follows the layers (then Xavier precedes He for init).

    With no cause but ``unknown``, the kind's :data:`GENERIC_REMEDIES`.
    """
    out: list[str] = []
    if kind == "exploding_gradient" and recurrent:
        out.append("clip_grad_norm")
    for c in causes:
        for r in CAUSE_REMEDIES.get(c, []):
            if saturating and r == "he_init" and c.startswith("init_scale"):
                r = "xavier_init"
            if r not in out:
                out.append(r)
    if kind == "exploding_gradient" and "clip_grad_norm" not in out:
        out.append("clip_grad_norm")
    if not out and kind is not None and all(c == "unknown" for c in causes):
        out = list(GENERIC_REMEDIES.get(kind, []))
    return out
