"""Words beside the pictures: plain-language explanations of each finding kind, and formatting of numbers
and evidence. Shared by the terminal and HTML views. Nothing here computes a statistic."""
from __future__ import annotations

import math
import re
from typing import Any

from ..diagnosis.codes import CAUSES, KINDS, REMEDIES

#: Plain-language explanation of each finding kind, and the paper it comes from (cited without links, so the
#: report stays offline).
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "vanishing_gradient": (
        "Backpropagation multiplies the error signal by each layer's weights and by the derivative of its "
        "activation. When those factors are below one, the signal shrinks geometrically on its way back, so the "
        "first layers (or the earliest time steps of a recurrent net) receive almost no gradient and learn "
        "orders of magnitude more slowly than the last ones.",
        "Hochreiter 1991; Bengio, Simard & Frasconi 1994, \"Learning long-term dependencies with gradient "
        "descent is difficult\"; Nielsen, Neural Networks and Deep Learning, ch. 5; Glorot & Bengio 2010."),
    "exploding_gradient": (
        "The same product of per-layer (or per-time-step) factors grows geometrically when the factors exceed "
        "one: updates become huge, the loss jumps or diverges, and values overflow to Inf/NaN.",
        "Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013, \"On the difficulty of training "
        "recurrent neural networks\"."),
    "saturation": (
        "A sigmoid or tanh unit whose input is large sits on the flat part of its curve, where the derivative "
        "is nearly zero: it passes almost no gradient backwards. Saturated top layers can freeze the whole "
        "network for a long time.",
        "Glorot & Bengio 2010, \"Understanding the difficulty of training deep feedforward neural networks\", "
        "Figs. 2-3; LeCun et al. 1998, \"Efficient BackProp\"."),
    "dead_units": (
        "A ReLU unit that outputs zero for every input has zero derivative everywhere, so no gradient reaches "
        "its weights and it never comes back. Large learning rates and large negative biases cause it.",
        "Maas, Hannun & Ng 2013, \"Rectifier nonlinearities improve neural network acoustic models\"; "
        "Lu et al. 2019, \"Dying ReLU and initialization\"."),
    "non_finite": (
        "A NaN or Inf appeared. Once one enters the forward or backward pass it spreads to every value it "
        "touches; the origin is the first module whose output was non-finite.",
        "Goodfellow, Bengio & Courville 2016, Deep Learning, sec. 4.1 (overflow and underflow)."),
    "stalled_learning": (
        "Every layer changes by a tiny fraction of its size per step while the loss stays high. A common rule "
        "of thumb is an update of about 1e-3 of the weight's norm per step.",
        "He, Zhang, Ren & Sun 2015, \"Delving deep into rectifiers\" (a 30-layer net that is completely "
        "stalled); Karpathy, CS231n notes (update/weight ratio ~1e-3)."),
    "unstable_loss": (
        "The loss fell and then climbed back above where training started: each step overshoots the minimum "
        "it aims at, so the model is thrown back to worse than its initialisation. The learning rate is too "
        "high for this model, even if nothing has overflowed yet.",
        "Zhang et al. 2021, \"AUTOTRAINER\" (oscillating loss); Goodfellow, Bengio & Courville 2016, Deep "
        "Learning, sec. 8.3.1 (a learning rate too large makes the learning curve oscillate violently)."),
    "poor_initialization": (
        "A layer's initial weight scale is far from the one that keeps the variance of the signal constant "
        "through the layer, so the forward and backward signals shrink or grow with depth from the start.",
        "Glorot & Bengio 2010 (Xavier initialisation); He et al. 2015 (Kaiming initialisation); Saxe, "
        "McClelland & Ganguli 2014 (orthogonal initialisation)."),
}

#: Evidence keys read as the activation-vs-weight factorisation of a layer's backward gain (Nielsen ch. 5).
FACTOR_KEYS: dict[str, tuple[str, ...]] = {
    "activation": ("activation_factor", "act_factor", "act_deriv", "sigma_prime", "deriv_factor"),
    "weight": ("weight_factor", "w_factor", "weight_gain"),
    "gain": ("gain", "layer_gain", "backward_gain", "total_factor"),
}

#: How many names a summary line lists before it abbreviates ("a, b, c, ... (12 layers)").
MAX_NAMES_INLINE = 6


#: Characters that a terminal interprets rather than shows: C0 and C1 controls (ESC starts the sequences that
#: recolour, clear the screen, retitle the window or move the cursor) and the bidirectional overrides and
#: isolates that reorder what follows them on the line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(s: Any, *, newlines: bool = False) -> str:
    """``s`` as text safe to print to a terminal: every control character (and bidi override) written as its
    escape (``\\x1b``, ``\\n``, ``\\u202e``), except newlines when ``newlines`` is True. Layer names, model
    classes and findings come from run stores, which may come from anyone (docs/security.md); printed raw, a
    name holding ``ESC [2J`` cleared the screen of whoever ran ``graddoctor stats`` on the store."""
    def esc(m: re.Match[str]) -> str:
        c = m.group()
        if c == "\n" and newlines:
            return c
        return repr(c)[1:-1] if ord(c) < 0x100 else f"\\u{ord(c):04x}"
    return _CONTROL.sub(esc, str(s))


def explain_kind(kind: str) -> tuple[str, str]:
    """(explanation, reference) for a finding kind; the code table's description for kinds without one."""
    if kind in EXPLANATIONS:
        return EXPLANATIONS[kind]
    return KINDS.get(kind, kind), ""


def describe_cause(code: str) -> str:
    """The code table's description of a cause code (the code itself when unknown)."""
    return CAUSES.get(code, code)


def describe_remedy(code: str) -> str:
    """The code table's description of a remedy code (the code itself when unknown)."""
    return REMEDIES.get(code, code)


def fmt_num(x: Any, digits: int = 3) -> str:
    """A number for people: ``-`` for missing/NaN, scientific notation when very small or large."""
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return str(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    if isinstance(x, int) or (v.is_integer() and abs(v) < 1e6):
        return f"{int(v):,}" if abs(v) >= 1e4 else str(int(v))
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def names_inline(names: list[str], limit: int = MAX_NAMES_INLINE, unit: str = "layers") -> str:
    """``a, b, c`` or ``a, b, c, ..., z (12 layers)`` for long lists; ``-`` for none."""
    if not names:
        return "-"
    if len(names) <= limit:
        return ", ".join(names)
    head = ", ".join(names[: limit - 1])
    return f"{head}, ..., {names[-1]} ({len(names)} {unit})"


def where(d: dict[str, Any]) -> str:
    """Where a finding (dict) is: its layers, its origin, or its time steps."""
    parts = []
    if d.get("layers"):
        parts.append(names_inline(list(d["layers"])))
    if d.get("origin"):
        parts.append(f"origin {d['origin']}")
    ev = d.get("evidence") or {}
    if d.get("axis") == "time":
        horizon = ev.get("memory_horizon", ev.get("horizon"))
        length = ev.get("sequence_length")
        of = f" of {fmt_num(length)}" if length is not None else ""
        if horizon is not None:
            parts.append(f"memory horizon {fmt_num(horizon)}{of} time steps")
        elif length is not None:
            parts.append(f"memory horizon ≥ the sequence length ({fmt_num(length)} time steps)")
    return "; ".join(parts) or "-"


def when(d: dict[str, Any], source: str | None = None, *, short: bool = False) -> str:
    """When a finding (dict) was first seen: its step, else what a finding without a step comes from. Only a
    one-batch check has no steps at all; a run's finding without a step (the initial-weight audit behind
    poor_initialization) is not a check's."""
    if d.get("step") is not None:
        return str(d["step"]) if short else f"first seen at step {d['step']}"
    if "check" in (d.get("source"), source):
        return "check" if short else "one-batch check"
    if d.get("kind") == "poor_initialization":
        return "init" if short else "from the initial weights"
    return "-" if short else "not tied to one step"


def as_dict(finding: Any) -> dict[str, Any]:
    """A finding as a dict (Finding objects and dicts alike)."""
    return finding.to_dict() if hasattr(finding, "to_dict") else dict(finding)


def factorisation(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (layer, activation factor, weight factor, gain) found in a finding's evidence.

    Detectors report Nielsen's factorisation either as scalars or per layer (a list, or a dict keyed by
    layer). Returns an empty list when the evidence holds none.
    """
    found = {}
    for role, keys in FACTOR_KEYS.items():
        for k in keys:
            if k in evidence:
                found[role] = evidence[k]
                break
    if not found or not ({"activation", "weight"} & set(found)):
        nested = evidence.get("factorization") or evidence.get("factorisation") or evidence.get("factors")
        if isinstance(nested, dict):
            return factorisation(nested) or _rows_from_per_layer(nested)
        if isinstance(nested, list) and nested and isinstance(nested[0], dict):
            return [_row_from(d, d.get("layer", str(i))) for i, d in enumerate(nested)]
        return []
    layers = evidence.get("layers") or evidence.get("layer_names")
    values = list(found.values())
    if all(isinstance(v, (int, float)) or v is None for v in values):
        return [{"layer": evidence.get("layer", "all"), **{k: found.get(k) for k in FACTOR_KEYS}}]
    if all(isinstance(v, dict) for v in values):
        names = list(next(iter(values)).keys())
        return [{"layer": n, **{k: (found[k].get(n) if k in found else None) for k in FACTOR_KEYS}} for n in names]
    if all(isinstance(v, list) for v in values):
        n = max(len(v) for v in values)
        names = layers if isinstance(layers, list) and len(layers) == n else [str(i) for i in range(n)]
        return [{"layer": names[i], **{k: (found[k][i] if k in found and i < len(found[k]) else None)
                                       for k in FACTOR_KEYS}} for i in range(n)]
    return []


def _row_from(d: dict[str, Any], layer: str) -> dict[str, Any]:
    row: dict[str, Any] = {"layer": layer}
    for role, keys in FACTOR_KEYS.items():
        row[role] = next((d[k] for k in keys if k in d), None)
    return row


def _rows_from_per_layer(d: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [_row_from(v, str(k)) for k, v in d.items() if isinstance(v, dict)]
    return [r for r in rows if r["activation"] is not None or r["weight"] is not None]


#: Most entries of a dict or list shown in one cell of a finding's evidence table ("..." marks the rest).
MAX_EVIDENCE_ENTRIES = 8


def _entries(d: dict[str, Any], sep: str) -> str:
    """``k=v`` pairs of a dict's scalar entries, the first :data:`MAX_EVIDENCE_ENTRIES` of them and ``...`` when
    there are more (an init-audit row's verdict, its 7th entry, was dropped without a mark)."""
    scalars = [(k, v) for k, v in d.items() if not isinstance(v, (dict, list))]
    shown = sep.join(f"{k}={fmt_num(v)}" for k, v in scalars[:MAX_EVIDENCE_ENTRIES])
    return shown + (f"{sep}..." if len(scalars) > MAX_EVIDENCE_ENTRIES else "")


def evidence_items(evidence: dict[str, Any], skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(key, formatted value) pairs of the scalar and short-list evidence, for a compact table."""
    items = []
    for k, v in evidence.items():
        if k in skip:
            continue
        if isinstance(v, dict):
            items.append((k, _entries(v, ", ")))
        elif isinstance(v, list):
            shown = ", ".join(_short(x) for x in v[:MAX_EVIDENCE_ENTRIES])
            items.append((k, f"[{shown}{', ...' if len(v) > MAX_EVIDENCE_ENTRIES else ''}]"))
        else:
            items.append((k, fmt_num(v)))
    return items


#: Summary of a run with no recorded step (instead of "No problems found.", a claim about steps that do not exist).
NO_STEPS_SUMMARY = "No steps were recorded, so nothing was diagnosed."


def findings_summary(findings: list[dict[str, Any]]) -> str:
    """``2 problems: 1 critical, 1 warning (3 findings in all)`` or ``No problems found``."""
    crit = sum(f["severity"] == "critical" for f in findings)
    warn = sum(f["severity"] == "warning" for f in findings)
    if not crit and not warn:
        n = len(findings)
        return "No problems found" + (f" ({n} informational finding{'s' if n != 1 else ''})." if n else ".")
    parts = [f"{crit} critical"] if crit else []
    parts += [f"{warn} warning{'s' if warn != 1 else ''}"] if warn else []
    total = f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in all"
    return f"{crit + warn} problem{'s' if crit + warn != 1 else ''}: {', '.join(parts)} ({total})."


def _short(x: Any) -> str:
    if isinstance(x, dict):
        return "{" + _entries(x, " ") + "}"
    if isinstance(x, list):
        return "[...]"
    return fmt_num(x)
