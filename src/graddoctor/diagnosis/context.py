"""What the detectors read: a :class:`Context` built from a run's :class:`RunData` (and, for
:func:`graddoctor.check`, the extra observations of the one-batch check).

Detectors never touch hooks or stores; they read per-layer arrays (layers x steps, layers in forward order)
and a few derived views defined here: the *depth chain* (the weight layers a backward signal passes through),
robust slopes, windows of recent steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..store.run_data import LayerInfo, RunData

#: Layer types that normalise their input. They rescale the backward signal by design, so they are left out
#: of the depth chain (their gain says nothing about vanishing) but count as "normalization present".
NORM_TYPES = frozenset({"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "GroupNorm",
                        "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "LazyBatchNorm1d",
                        "LazyBatchNorm2d", "LazyBatchNorm3d"})
#: Lookup tables: no input signal (token ids) and N(0, 1) rows by design, so neither in the depth chain nor
#: in the initialisation audit.
EMBEDDING_TYPES = frozenset({"Embedding", "EmbeddingBag"})
#: Last name components of attention's query and key projections (BERT's ``query``/``key``, LLaMA/BART's
#: ``q_proj``/``k_proj``, diffusers' ``to_q``/``to_k``, DistilBERT's ``q_lin``/``k_lin``, ``wq``/``wk``). They
#: branch off the same input as the value projection and reach the output only through the softmax scores,
#: whose gradient at a small init is ~100x below the value path's (a 2-block BERT at std 0.02: 4e-6 against
#: 2e-4). They are not links of the depth chain; counted as such, a tiny BERT read as critical vanishing
#: (tests/regressions/test_attention_qk_not_in_chain.py). The value projection stays in the chain.
ATTENTION_SCORE_PROJECTIONS = frozenset({"query", "key", "q", "k", "q_proj", "k_proj", "query_proj", "key_proj",
                                         "to_q", "to_k", "q_lin", "k_lin", "wq", "wk", "w_q", "w_k"})
#: RMS below which a layer of gains or scales only (no weight matrix) is left out of relative-gradient
#: thresholds (:meth:`Context.relative_gradient_layers`). Gains start at 1 (norm layers) or at 0 (ReZero,
#: SkipInit, zero-gamma BatchNorm; LayerScale at 1e-6..0.1); below 0.1 the ratio ||g||/||w|| measures how
#: small the scale still is, not how large the gradient is. Measured on a 20-block ReZero ReLU MLP (SGD lr
#: 0.05): scales of 1e-4..2e-3 after the first step give ratios of 20 and more (up to 77 on later steps), the
#: same scales at 0.03..0.53 after 200 steps give 0.1..2.6; Pascanu's cliff unit (w = 4.69) keeps its ratio.
GAIN_RMS_FLOOR = 0.1
#: Name under which the watched model's root module appears when it owns parameters itself (graddoctor's
#: model map).
ROOT_NAME = "<model>"
#: Layer types that own a weight used on their own input and also have a child layer (MultiheadAttention:
#: in_proj_weight, and the child out_proj). Any other layer with child layers is a *container*
#: (:meth:`Context.is_container`).
WEIGHT_LAYERS_WITH_CHILDREN = frozenset({"MultiheadAttention"})
#: Recurrent layer types and which of them are gated.
RECURRENT_TYPES = frozenset({"RNN", "LSTM", "GRU"})
GATED_TYPES = frozenset({"LSTM", "GRU"})
#: Words in a layer's qualified name or type that mark a residual architecture when no check saw the adds.
RESIDUAL_HINTS = ("residual", "resblock", "res_block", "basicblock", "bottleneck", "shortcut", "downsample",
                  "encoderlayer", "decoderlayer", "transformer")


@dataclass
class Context:
    """Everything a detector may read.

    Attributes:
        layers: layers in forward order; row ``i`` of every array in ``stats`` belongs to ``layers[i]``.
        steps: recorded steps.
        stats: per-layer statistic -> array (layers x steps).
        step_stats: per-step statistic -> array (steps,).
        series: as :attr:`RunData.series`.
        meta: run metadata.
        source: ``"check"`` or ``"run"``.
        extra: observations only a check makes (non-finite origin, unsafe op, input statistics, init audit,
            structure, functional activations); empty for a run.
    """

    layers: list[LayerInfo]
    steps: np.ndarray
    stats: dict[str, np.ndarray]
    step_stats: dict[str, np.ndarray]
    series: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "run"
    extra: dict[str, Any] = field(default_factory=dict)
    _parents: tuple[tuple[int, int], frozenset[str]] | None = field(default=None, init=False, repr=False,
                                                                   compare=False)

    @classmethod
    def from_run(cls, data: RunData, source: str = "run", extra: dict[str, Any] | None = None) -> Context:
        if source == "run":
            # read-only views of the recorded arrays, in their stored dtype (float32): converting every statistic
            # to a float64 copy took 20 x 8 bytes x layers x steps (1.6 GB for a 500-layer x 20,000-step run,
            # the all-NaN placeholders of unrecorded statistics included); the detectors only read them
            stats = {k: _read_only(v) for k, v in data.layer_stats.items()}
        else:  # a check writes its own observations into its (one-batch) arrays
            stats = {k: np.asarray(v, dtype=np.float64).copy() for k, v in data.layer_stats.items()}
        step_stats = {k: np.asarray(v, dtype=np.float64) for k, v in data.step_stats.items()}
        return cls(layers=list(data.layers), steps=np.asarray(data.steps), stats=stats, step_stats=step_stats,
                   series=data.series, meta=dict(data.meta), source=source, extra=dict(extra or {}))

    # ------------------------------------------------------------------ basic access
    @property
    def n_steps(self) -> int:
        return int(self.steps.size)

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def stat(self, name: str) -> np.ndarray:
        """Array (layers x steps) of a statistic; all-NaN when it was not recorded."""
        arr = self.stats.get(name)
        if arr is None:
            return np.full((len(self.layers), self.n_steps), np.nan)
        return arr

    def step_stat(self, name: str) -> np.ndarray:
        arr = self.step_stats.get(name)
        return np.full(self.n_steps, np.nan) if arr is None else arr

    def loss_nonfinite(self) -> np.ndarray:
        """Per step: the loss is Inf, or NaN where a loss was logged. A NaN loss also means "not logged", so
        it counts after finite losses were logged, or on every step when the run says that every step logged
        one (metadata ``loss_every_step``: then a loss that is NaN from the first step counts too)."""
        loss = self.step_stat("loss")
        fin = np.isfinite(loss)
        seen = np.concatenate([[False], np.maximum.accumulate(fin)[:-1]]) if loss.size else fin
        if self.meta.get("loss_every_step") is True:
            seen = np.ones_like(fin)
        return np.isinf(loss) | (np.isnan(loss) & seen)

    def step_of(self, col: int) -> int | None:
        """The optimizer step of column ``col`` (``None`` for a check)."""
        if self.source == "check" or self.n_steps == 0:
            return None
        return int(self.steps[col])

    def detail_col(self, col: int, stat: str = "in_signal_norm") -> int:
        """``col`` if ``stat`` was measured there, else the nearest earlier (then later) column where it was.

        watch() takes dL/d(input) and activation details only on *detail steps* (every ``detail_every``-th)."""
        arr = self.stat(stat)
        if arr.shape[1] == 0:
            return col
        have = np.isfinite(arr).any(axis=0)
        if have[col]:
            return col
        before = np.where(have[:col])[0]
        if before.size:
            return int(before[-1])
        after = np.where(have)[0]
        return int(after[0]) if after.size else col

    def last_finite(self, stat: str, window: int) -> np.ndarray:
        """Per layer, the last finite value of ``stat`` among the last ``window`` columns (NaN if none)."""
        arr = self.stat(stat)[:, -window:] if self.n_steps else self.stat(stat)
        out = np.full(arr.shape[0], np.nan)
        for i in range(arr.shape[0]):
            fin = np.where(np.isfinite(arr[i]))[0]
            if fin.size:
                out[i] = arr[i, fin[-1]]
        return out

    def activation_kind(self, i: int) -> str | None:
        """Kind of the activation after layer ``i``: the module one, else a functional one the check saw."""
        layer = self.layers[i]
        if layer.activation:
            return layer.activation
        return self.extra.get("functional_activations", {}).get(layer.name)

    # ------------------------------------------------------------------ structure
    def is_norm(self, i: int) -> bool:
        return self.layers[i].type in NORM_TYPES

    def is_container(self, i: int) -> bool:
        """Layer ``i`` is a module with child layers that owns parameters itself (the root ``<model>`` holding a
        ViT's class token and positional embeddings, a block holding a LayerScale): its parameters are used
        somewhere inside its forward, while its output (the root's: the model output) and its place in the
        forward order are those of the whole subnetwork. So it is no link of the depth chain, has no init
        reference, and its relative gradient counts only as a gain's (:data:`GAIN_RMS_FLOOR`): zero-initialised
        tokens and positional embeddings (timm's cls token, many ViTs) have an unbounded ratio by
        construction."""
        layer = self.layers[i]
        if layer.type in WEIGHT_LAYERS_WITH_CHILDREN:
            return False
        if layer.name == ROOT_NAME:
            return len(self.layers) > 1
        return layer.name in self._parent_names()

    def _parent_names(self) -> frozenset[str]:
        """Every proper dotted prefix of a layer name ("a", "a.b" of "a.b.c"): the names of modules with a child
        layer. Built once per layer list (is_container runs for every layer in every chain() and
        relative_gradient_layers() call: a scan of all names each time made diagnosing a 2,000-layer run take
        minutes)."""
        key = (id(self.layers), len(self.layers))
        if self._parents is None or self._parents[0] != key:
            names: set[str] = set()
            for other in self.layers:
                parts = other.name.split(".")
                names.update(".".join(parts[:k]) for k in range(1, len(parts)))
            self._parents = (key, frozenset(names))
        return self._parents[1]

    def is_recurrent(self, i: int) -> bool:
        return self.layers[i].type in RECURRENT_TYPES or bool(self.layers[i].info.get("recurrent"))

    def weight_shapes(self, i: int) -> list[list[int]] | None:
        """Shapes of layer ``i``'s weight parameters (names without ``bias``), None when the store lacks them."""
        params = self.layers[i].info.get("params")
        if not isinstance(params, dict) or not params:
            return None
        return [list(shape) for name, shape in params.items()
                if "bias" not in str(name) and isinstance(shape, (list, tuple))]

    def relative_gradient_layers(self, col: int) -> list[int]:
        """Layers whose relative gradient ||gW||/||W|| at step column ``col`` the detectors compare with
        thresholds: every layer with a weight matrix or kernel (two or more dimensions), and a layer of gains or
        scales only (a norm layer's 1-D weight, a scalar) while its weights' RMS is at least
        :data:`GAIN_RMS_FLOOR`. A scale that starts at zero (ReZero/SkipInit, the zero-gamma last BatchNorm of
        torchvision's ``zero_init_residual`` blocks, LayerScale) has an unbounded ratio by construction;
        a gain of order one (a BatchNorm gamma at 1, Pascanu's scalar recurrent weight 4.69) keeps it."""
        wn = self.stat("weight_norm")[:, col]
        out = []
        for i in range(len(self.layers)):
            shapes = self.weight_shapes(i)
            if (shapes is None or any(len(s) >= 2 for s in shapes)) and not self.is_container(i):
                out.append(i)
                continue
            if not shapes:  # a container whose parameters' shapes are unknown: no RMS to judge
                continue
            n = sum(int(np.prod(s)) if s else 1 for s in shapes)
            if n and np.isfinite(wn[i]) and wn[i] / np.sqrt(n) >= GAIN_RMS_FLOOR:
                out.append(i)
        return out

    def chain(self) -> list[int]:
        """The depth chain: indices (forward order) of layers with a weight matrix, no norm layers, no
        recurrent layers (their gain is a time-axis matter), no embeddings (no input signal), no attention
        query/key projections (:data:`ATTENTION_SCORE_PROJECTIONS`: side branches into the softmax scores) and
        no containers (:meth:`is_container`)."""
        out = []
        for i, layer in enumerate(self.layers):
            if self.is_norm(i) or self.is_recurrent(i) or layer.type in EMBEDDING_TYPES or self.is_container(i):
                continue
            if layer.name.rsplit(".", 1)[-1].lower() in ATTENTION_SCORE_PROJECTIONS:
                continue
            if layer.info.get("fan_in") is None:
                continue
            out.append(i)
        return out

    def head(self) -> int | None:
        """The output head: the last chain layer the forward pass *called*. Layers never called as modules (the
        out_proj of nn.MultiheadAttention, whose weight the attention uses functionally) have no order and are
        listed last; taking one of them left a transformer's real head in the depth fit. None without a
        chain."""
        chain = self.chain()
        called = [i for i in chain if self.layers[i].order is not None]
        return called[-1] if called else (chain[-1] if chain else None)

    def rows_per_step(self) -> float | None:
        """How many rows (samples, or tokens of a sequence model) the output head processed per recorded step:
        the size of its output gradient, numel = (signal_norm / signal_rms)², over its ``out_features``, median
        over the steps where both were recorded. It is the number of per-row losses a step's loss averages,
        which sets how noisy that loss is. None when the head is not a linear layer (a conv's output size is
        not ``fan_out``) or the backward signal was not recorded (``watch(signal=False)``)."""
        head = self.head()
        if head is None:
            return None
        layer = self.layers[head]
        fan_out = layer.info.get("fan_out")
        if not layer.type.endswith("Linear") or layer.info.get("conv") or not isinstance(fan_out, int) \
                or fan_out < 1:
            return None
        norm, rms = self.stat("signal_norm")[head], self.stat("signal_rms")[head]
        with np.errstate(all="ignore"):
            numel = (np.asarray(norm, dtype=float) / np.asarray(rms, dtype=float)) ** 2
        numel = numel[np.isfinite(numel) & (numel > 0)]
        return float(np.median(np.rint(numel))) / fan_out if numel.size else None  # an integer, read in float32

    @property
    def has_norm(self) -> bool:
        return any(self.is_norm(i) for i in range(len(self.layers)))

    @property
    def has_residual(self) -> bool | None:
        """True/False when the check counted residual additions; else guessed from names (None: unknown)."""
        if "residual_adds" in self.extra:
            return int(self.extra["residual_adds"]) > 0
        text = " ".join((layer.name + " " + layer.type).lower() for layer in self.layers)
        text += " " + str(self.meta.get("model_class", "")).lower()
        if any(h in text for h in RESIDUAL_HINTS):
            return True
        return None

    def optimizer_hp(self, key: str) -> float | None:
        """A hyper-parameter of the first optimizer param group recorded in the run metadata."""
        opt = self.meta.get("optimizer") or {}
        groups = opt.get("param_groups") or []
        if not groups:
            return None
        v = groups[0].get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def loss_progress(self, window: int) -> tuple[float, float, float] | None:
        """``(start, end, relative improvement)`` of the logged loss: the medians of the first and the last
        ``window`` recorded steps (at most half the run each); None without a finite, positive start and a
        finite end."""
        loss = self.step_stat("loss")
        w = min(window, loss.size // 2)
        if w < 1:
            return None
        a, b = nanmedian(loss[:w]), nanmedian(loss[-w:])
        if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
            return None
        return a, b, float((a - b) / abs(a))



# ---------------------------------------------------------------------- numeric helpers
def _read_only(a: Any) -> np.ndarray:
    """A read-only view of ``a`` (no copy), so that no detector can change the caller's RunData."""
    v = np.asarray(a).view()
    v.flags.writeable = False
    return v


def robust_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Theil-Sen slope (median of pairwise slopes) of ``y`` against ``x``, ignoring non-finite points.

    Robust to a few outlying layers (a head, a downsampling layer), unlike least squares. NaN with fewer
    than two finite points.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 2:
        return float("nan")
    i, j = np.triu_indices(x.size, k=1)
    dx = x[j] - x[i]
    keep = dx != 0
    if not keep.any():
        return float("nan")
    return float(np.median((y[j] - y[i])[keep] / dx[keep]))


def safe_log10(a: np.ndarray) -> np.ndarray:
    """log10 of positive finite entries, NaN elsewhere."""
    a = np.asarray(a, dtype=float)
    out = np.full(a.shape, np.nan)
    ok = np.isfinite(a) & (a > 0)
    out[ok] = np.log10(a[ok])
    return out


def nanmedian(a: np.ndarray, axis: int | None = None) -> Any:
    """``np.nanmedian`` without the all-NaN warning."""
    a = np.asarray(a, dtype=float)
    with np.errstate(all="ignore"):
        if axis is None:
            v = a[np.isfinite(a)]
            return float(np.median(v)) if v.size else float("nan")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(a, axis=axis)


#: Step columns per block in :func:`column_nanmedian`: a block of a 500-layer run in float64 is 8 MB, where
#: ``np.nanmedian`` over the whole layers x steps array made several float64 copies of it (a 500-layer x
#: 20,000-step run: 80 MB each, 335 MB at the peak).
MEDIAN_BLOCK_COLUMNS = 2048


def column_nanmedian(a: np.ndarray) -> np.ndarray:
    """Per column (step), the median over rows (layers) of the entries that are not NaN (NaN for a column
    without any), computed only on columns holding a value and block by block, so that a long run's layers x
    steps array is never copied whole."""
    out = np.full(a.shape[1], np.nan)
    cols = np.flatnonzero((~np.isnan(a)).any(axis=0))
    for k in range(0, cols.size, MEDIAN_BLOCK_COLUMNS):
        block = cols[k:k + MEDIAN_BLOCK_COLUMNS]
        out[block] = nanmedian(a[:, block], axis=0)
    return out


def fnum(x: Any, digits: int = 4) -> Any:
    """A float rounded to ``digits`` significant digits for evidence (NaN/None kept)."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return x
    if not np.isfinite(v) or v == 0:
        return v
    return float(f"{v:.{digits}g}")
