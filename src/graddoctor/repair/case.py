"""The training recipe that repair trials run: :class:`Case` (model builder, data, loss, optimizer, steps)."""
from __future__ import annotations

import dataclasses
import math
import numbers
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GradDoctorError

#: Batch size used to evaluate on validation tensors (memory bound only; results do not depend on it).
EVAL_BATCH = 1024
#: The seed of the trial run in progress (set by ``repair.trials.run_seed``): what ``Case.batches()`` uses
#: without a seed, so that a ``train_fn(model, case)``, which is not given the seed, draws each seed's own
#: batch order.
TRIAL_SEED: ContextVar[int | None] = ContextVar("graddoctor_trial_seed", default=None)


class CaseError(GradDoctorError, ValueError):
    """A :class:`Case` cannot be used as given."""


def _default_optimizer(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=0.1)


def _is_pair(data: Any) -> bool:
    return (isinstance(data, (tuple, list)) and len(data) == 2
            and all(isinstance(t, torch.Tensor) for t in data))


def _positive_int(value: Any, name: str) -> int:
    """``value`` as an int >= 1: an integer, or a float with an integral value (e.g. ``epochs * n / bs``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise CaseError(f"{name} must be a whole number >= 1, got {value!r} ({type(value).__name__})")
    if int(value) < 1:
        raise CaseError(f"{name} must be >= 1, got {value}")
    return int(value)


def _check_data(data: Any, what: str) -> None:
    if data is None and what == "val":
        return
    if _is_pair(data):
        x, y = data
        if x.dim() == 0 or y.dim() == 0:
            raise CaseError(f"{what}=(X, y) must hold samples along the first dimension, got a 0-dim tensor "
                            f"(shapes {tuple(x.shape)} and {tuple(y.shape)}); pass X of shape (N, ...) and y of (N, ...)")
        if x.shape[0] != y.shape[0]:
            raise CaseError(f"{what}=(X, y) must have as many samples in X as in y: got {x.shape[0]} and "
                            f"{y.shape[0]}; pass matching tensors")
        if x.shape[0] == 0:
            raise CaseError(f"{what} is empty; pass at least one sample")
        return
    if isinstance(data, torch.utils.data.DataLoader):
        return
    raise CaseError(f"{what} must be a pair of tensors (X, y) or a torch DataLoader yielding (x, y) batches, "
                    f"got {type(data).__name__}")


@dataclass(frozen=True, eq=False)  # eq=False: compare by identity, never element-wise over data tensors
class Case:
    """A training recipe that graddoctor can re-run under controlled conditions.

    Args:
        model_fn: builds a fresh, untrained model (called once per trial and seed, after seeding).
        train: training data, ``(X, y)`` tensors or a DataLoader of ``(x, y)`` batches.
        val: validation data in the same forms; ``None`` evaluates on the training data.
        loss_fn: ``loss_fn(model(x), y) -> scalar tensor``.
        optimizer_fn: ``optimizer_fn(params) -> torch.optim.Optimizer``.
        steps: optimizer steps per training run.
        batch_size: mini-batch size when ``train`` is a pair of tensors.
        metric_fn: ``(output, target) -> float``, higher is better; ``None`` means accuracy when targets are
            class indices and ``-loss`` otherwise.
        name: a label for tables and JSON.
        changes: readable descriptions of the remedies applied to this recipe (filled by remedies).
    """

    model_fn: Callable[[], nn.Module]
    train: Any
    val: Any = None
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy
    optimizer_fn: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] = _default_optimizer
    steps: int = 300
    batch_size: int = 64
    metric_fn: Callable[[torch.Tensor, torch.Tensor], float] | None = None
    name: str = "case"
    changes: tuple[str, ...] = field(default=())
    #: The models ``model_fn`` built that are still alive: one returned again is not fresh (see build_model).
    _built: weakref.WeakSet[nn.Module] = field(default_factory=weakref.WeakSet, init=False, repr=False)
    #: Their parameters: a new model holding one of them shares a module with an earlier model.
    #: (id -> tensor, weakly: a WeakSet compares tensors with ==, element-wise)
    _built_tensors: weakref.WeakValueDictionary[int, torch.Tensor] = field(
        default_factory=weakref.WeakValueDictionary, init=False, repr=False)

    def __post_init__(self) -> None:
        if not callable(self.model_fn) or isinstance(self.model_fn, nn.Module):
            raise CaseError("model_fn must be a function that builds a new model (e.g. model_fn=lambda: Net()), "
                            "not a model instance: trials need a fresh model per seed")
        if not callable(self.loss_fn) or not callable(self.optimizer_fn):
            raise CaseError("loss_fn and optimizer_fn must be callables: loss_fn(output, target) and "
                            "optimizer_fn(params), e.g. lambda p: torch.optim.SGD(p, lr=0.1)")
        if self.metric_fn is not None and not callable(self.metric_fn):
            raise CaseError(f"metric_fn must be a callable metric_fn(output, target) -> float or None, got "
                            f"{type(self.metric_fn).__name__}")
        _check_data(self.train, "train")
        _check_data(self.val, "val")
        for name in ("steps", "batch_size"):  # frozen dataclass: store the checked int
            object.__setattr__(self, name, _positive_int(getattr(self, name), name))

    def __getstate__(self) -> dict[str, Any]:
        """Pickling and deep copies leave out the weak set of built models (weak references do not pickle)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_built", "_built_tensors")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_built", weakref.WeakSet())
        object.__setattr__(self, "_built_tensors", weakref.WeakValueDictionary())

    # ------------------------------------------------------------------ recipe
    def replace(self, change: str | None = None, **fields: Any) -> Case:
        """A new Case with ``fields`` replaced and ``change`` appended to :attr:`changes`."""
        if change is not None:
            fields["changes"] = (*self.changes, change)
        return dataclasses.replace(self, **fields)

    def build_model(self) -> nn.Module:
        """Call ``model_fn`` and check it returned a module. Lazy modules (``nn.LazyLinear``, ...) are
        materialised by one forward pass on two training samples (eval mode, no gradient; their shapes come
        from the data), as a training script's first batch would; the initialisation draws from the global RNG
        right after ``model_fn``, so a seed fixes it as it fixes the rest of the model.

        Raises:
            CaseError: ``model_fn`` returned something other than a module, or a model it had already returned
                (``model_fn=lambda: net``): every seed and remedy would train and edit that one model, the user's."""
        model = self.model_fn()
        if not isinstance(model, nn.Module):
            raise CaseError(f"model_fn must return a torch.nn.Module, it returned {type(model).__name__}")
        if model in self._built:
            # the same object every call (model_fn=lambda: net): each seed would go on training the last one,
            # each remedy would edit and retrain it, and the user's own model would come back changed
            raise CaseError(f"model_fn returned the same {type(model).__name__} object twice; trials need a new, "
                            "untrained model per seed and remedy: build it inside model_fn (model_fn=lambda: Net(), "
                            "or model_fn=Net), not model_fn=lambda: net")
        # parameters only: a constant buffer shared on purpose (a precomputed mask or table) is no training state
        shared = next((n for n, t in model.named_parameters() if self._built_tensors.get(id(t)) is t), None)
        if shared is not None:
            # a module built outside model_fn (a pretrained encoder passed in): every seed and remedy would train,
            # re-initialise or normalise that one module, the user's own, and no trial would start where the others did
            raise CaseError(f"model_fn returned a {type(model).__name__} whose {shared!r} is the same tensor as in a "
                            "model it built before: a module created outside model_fn (e.g. a pretrained encoder "
                            "passed in) is shared by every trial, which would train and change it, yours; create or "
                            "load it inside model_fn, or pass copy.deepcopy(encoder)")
        self._built.add(model)
        for t in model.parameters():
            self._built_tensors[id(t)] = t
        if any(nn.parameter.is_lazy(t) for t in (*model.parameters(), *model.buffers())):
            x, _ = self.sample_batch(2)
            device = next(iter(model.parameters()), torch.empty(0)).device
            was = model.training
            model.eval()
            try:
                with torch.no_grad():
                    model(_to(x, device))
            finally:
                model.train(was)
        return model

    def make_optimizer(self, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
        """Call ``optimizer_fn`` (with any clipping, warm-up or learning-rate change a remedy added)."""
        opt = self.optimizer_fn(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise CaseError(f"optimizer_fn must return a torch.optim.Optimizer, it returned {type(opt).__name__}")
        return opt

    # ------------------------------------------------------------------ data
    def batches(self, seed: int | None = None, device: torch.device | None = None) -> Iterator[tuple[Any, Any]]:
        """``steps`` training batches. For tensors the order depends on ``seed`` only (its own generator);
        a DataLoader is cycled in its own order (seed the global RNG before calling for a fixed order), which
        draws from a stream of its own, forked from the global RNG at the first batch (:class:`_LoaderRNG`): the
        random numbers the model draws between batches (dropout) do not move the next epoch's shuffle.
        ``seed=None``: the seed of the repair trial in progress (0 outside one), which is what a
        ``train_fn(model, case)`` should use: it is not given the seed, and a fixed ``case.batches(0)`` gave
        every seed the same batch order, so the seed-to-seed spread that a remedy must beat measured the
        initialisation alone."""
        if seed is None:
            seed = TRIAL_SEED.get()
            seed = 0 if seed is None else seed
        n = 0
        if _is_pair(self.train):
            X, y = self.train
            gen = torch.Generator().manual_seed(int(seed))
            bs = min(int(self.batch_size), X.shape[0])
            while True:
                perm = torch.randperm(X.shape[0], generator=gen)
                for i in range(0, X.shape[0] - bs + 1, bs):
                    idx = perm[i:i + bs]
                    yield _to(X[idx], device), _to(y[idx], device)
                    n += 1
                    if n >= self.steps:
                        return
        stream = _LoaderRNG()
        while True:
            got = False
            batches = stream.run(iter, self.train)
            while True:
                try:
                    batch = stream.run(next, batches)
                except StopIteration:
                    break
                x, y = _split(batch)
                got = True
                yield _to(x, device), _to(y, device)
                n += 1
                if n >= self.steps:
                    return
            if not got:
                raise CaseError("the training DataLoader yielded no batches; give it at least one sample")

    def sample_batch(self, max_samples: int = 256) -> tuple[Any, Any]:
        """A deterministic batch of training data (the first ``max_samples`` samples)."""
        if _is_pair(self.train):
            return self.train[0][:max_samples], self.train[1][:max_samples]
        for batch in self.train:
            return _split(batch)
        raise CaseError("the training DataLoader yielded no batches; give it at least one sample")

    def _val_batches(self) -> Iterator[tuple[Any, Any]]:
        data = self.train if self.val is None else self.val
        if _is_pair(data):
            X, y = data
            for i in range(0, X.shape[0], EVAL_BATCH):
                yield X[i:i + EVAL_BATCH], y[i:i + EVAL_BATCH]
        else:
            for batch in data:
                yield _split(batch)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, model: nn.Module) -> tuple[float, float]:
        """Validation ``(loss, metric)`` in eval mode without gradients; non-finite loss gives metric -inf
        for ``-loss`` metrics. Accuracy is the share of target values (each pixel of a segmentation's
        ``(N, H, W)`` targets) whose class-score argmax is right, among the targets that are classes (a negative
        index, e.g. cross-entropy's ignore_index -100 on padding, is left out); the class scores are dimension 1
        of the output, or its last of a batch-first sequence model's (N, T, C) (:func:`class_dim`). Restores the
        model's train/eval mode."""
        was = model.training
        model.eval()
        device = next(iter(model.parameters())).device
        total, n, correct, n_targets, mvals = 0.0, 0, 0.0, 0, []
        classify: int | None = None  # the class dimension, once a batch shows the targets are classes
        try:
            with torch.no_grad():
                for x, y in self._val_batches():
                    x, y = _to(x, device), _to(y, device)
                    out = model(x)
                    k = int(y.shape[0])
                    total += float(self.loss_fn(out, y)) * k
                    n += k
                    if self.metric_fn is not None:
                        mvals.append((float(self.metric_fn(out, y)), k))
                        continue
                    if classify is None:
                        classify = class_dim(out, y)
                    if classify is not None:  # per target: a segmentation's (N, H, W) targets count each pixel
                        # a negative index is no class: F.cross_entropy's ignore_index (-100, padding tokens,
                        # unlabelled pixels) is left out of the share as it is left out of the loss
                        valid = y >= 0
                        correct += float(((out.argmax(dim=classify) == y) & valid).sum())
                        n_targets += int(valid.sum())
        finally:
            model.train(was)
        if n == 0:
            raise CaseError("the validation data yielded no samples")
        loss = total / n
        if self.metric_fn is not None:
            metric = sum(v * k for v, k in mvals) / sum(k for _, k in mvals)
        elif classify is not None:
            metric = correct / n_targets if n_targets else math.nan
        else:
            metric = -loss if math.isfinite(loss) else -math.inf
        return loss, metric

    def constant_loss(self) -> float:
        """Validation loss of the best of a few constant outputs of the model's shape, which ignore the inputs:
        for class scores (class-index targets, output (N, C, ...)) every score -ln C, the uniform distribution
        both as logits (cross-entropy: ln C) and as log-probabilities (nll_loss after log_softmax: ln C; an
        all-zero output there is a loss of 0 that no model can beat); else the lower of zeros (a regression's
        zero prediction; logit 0, probability 1/2, for a binary cross-entropy on logits) and the training
        targets' mean (a regression's mean prediction, the target rate for a binary cross-entropy on
        probabilities, where zeros meant log 0: a loss of 46 that any model beats). A model whose loss is not
        below it has learned nothing from its inputs. A constant whose loss is not positive (constant targets;
        a loss such as KL divergence, whose value at a constant says nothing) is no reference; NaN when none is
        (or an output is not a tensor, a loss rejects it). Builds one model for the output shape; the global RNG
        is left untouched."""
        totals: list[float] = []
        n = 0
        try:
            mean = self._target_mean()
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                model = self.build_model()
                model.eval()
                device = next(iter(model.parameters()), torch.empty(0)).device
                for x, y in self._val_batches():
                    out = model(_to(x, device))
                    if not isinstance(out, torch.Tensor):
                        return math.nan
                    y = _to(y, device)
                    dim = class_dim(out, y)
                    if dim is not None:
                        consts = [torch.full_like(out, -math.log(out.shape[dim]))]
                    else:
                        consts = [torch.zeros_like(out)]
                        if mean is not None and out.is_floating_point() and (mean.numel() == 1 or mean.shape == out.shape[1:]):
                            consts.append(mean.to(out).reshape(() if mean.numel() == 1 else mean.shape).expand_as(out))
                    k = int(y.shape[0])
                    losses = [float(self.loss_fn(c, y)) * k for c in consts]
                    totals = losses if not totals else [t + v for t, v in zip(totals, losses)]
                    n += k
        except Exception:  # a recipe that cannot do this is judged without the reference
            return math.nan
        refs = [t / n for t in totals if n and math.isfinite(t / n) and t / n > 0]
        return min(refs) if refs else math.nan

    def _target_mean(self) -> torch.Tensor | None:
        """Mean of the floating-point training targets over the samples (all of them for tensors, one batch of a
        DataLoader), or None (class indices, other targets)."""
        y = self.train[1] if _is_pair(self.train) else self.sample_batch()[1]
        if not isinstance(y, torch.Tensor) or not y.is_floating_point() or y.dim() == 0 or y.shape[0] == 0:
            return None
        mean = y.detach().float().nanmean(dim=0)
        return mean if bool(torch.isfinite(mean).all()) else None

    def chance_accuracy(self) -> float:
        """Validation accuracy of the best constant prediction: the share of the most frequent class among the
        validation targets (class indices; negative ones, such as an ``ignore_index`` of -100, are left out).
        A model whose accuracy is well above it has learned something from its inputs, whatever its loss (an
        overconfident model can be right 77 % of the time on 10 classes with a cross-entropy above ln 10). NaN
        when the metric is not accuracy or the targets cannot be counted."""
        if self.metric_name != "accuracy":
            return math.nan
        counts: dict[int, int] = {}
        try:
            for _, y in self._val_batches():
                values, n = torch.unique(torch.as_tensor(y).flatten(), return_counts=True)
                for v, k in zip(values.tolist(), n.tolist()):
                    counts[v] = counts.get(v, 0) + k
        except Exception:  # targets that cannot be counted: judged on the loss alone
            return math.nan
        total = sum(k for v, k in counts.items() if v >= 0)  # ignored targets count in no accuracy
        best = max((k for v, k in counts.items() if v >= 0), default=0)
        return best / total if total and best else math.nan

    @property
    def metric_name(self) -> str:
        """``"accuracy"``, ``"-loss"`` or the user metric's name: the metric :meth:`evaluate` reports. Accuracy
        needs class-index targets *and* class scores ``(N, C, ...)`` from the model, so a fresh model is run
        once on two validation samples (global RNG untouched) to see its output."""
        if self.metric_fn is not None:
            return getattr(self.metric_fn, "__name__", "metric")
        with torch.random.fork_rng(devices=[]):  # a shuffled loader or model_fn must not move the global RNG
            x, y = next(iter(self._val_batches()), (None, None))
            if x is None or y is None or not _looks_like_classes(y):
                return "-loss"
            try:
                x, y = _head(x, 2), _head(y, 2)
                model = self.build_model()
                device = next(iter(model.parameters()), torch.empty(0)).device
                model.eval()
                with torch.no_grad():
                    out = model(_to(x, device))
            except Exception:  # a model that cannot run is reported by the trials, not here
                return "accuracy"
        return "accuracy" if is_classification(out, _to(y, device)) else "-loss"


def is_classification(out: torch.Tensor, y: Any) -> bool:
    """True when ``y`` holds class indices for the class scores ``out``: (N, C, ...) or (N, ..., C)."""
    return class_dim(out, y) is not None


def class_dim(out: Any, y: Any) -> int | None:
    """The dimension of ``out`` that holds the class scores for the class-index targets ``y``, or ``None`` when
    ``y`` are no class indices for ``out``: 1 in PyTorch's layout (``F.cross_entropy``'s (N, C, d1, ...) against
    (N, d1, ...)), the last one in the layout of a batch-first sequence model (a tagger or language model's
    (N, T, C) against (N, T), whose loss_fn flattens both); 1 when both fit (T == C)."""
    if not (isinstance(out, torch.Tensor) and _looks_like_classes(y) and out.dim() >= 2
            and out.dim() == y.dim() + 1 and out.shape[0] == y.shape[0]):
        return None
    if out.shape[1] > 1 and out.shape[2:] == y.shape[1:]:
        return 1
    if out.shape[-1] > 1 and out.shape[1:-1] == y.shape[1:]:
        return out.dim() - 1
    return None


def _looks_like_classes(y: Any) -> bool:
    return isinstance(y, torch.Tensor) and not y.is_floating_point() and not y.is_complex() and y.dtype != torch.bool


class _LoaderRNG:
    """The global CPU RNG state a DataLoader draws from (its shuffle, its workers' base seed), kept apart from the
    one the training draws from. A shuffled DataLoader draws its order from the global RNG when each epoch
    starts, after the model's dropout masks of the epoch before: a remedy that adds dropout (or any that draws
    random numbers differently) trained on another order from the second epoch on, and the trial was no longer
    controlled. The stream starts as the global state at the first call (right after the trial's seeding)."""

    def __init__(self) -> None:
        self.state: torch.Tensor | None = None

    def run(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        """``fn(arg)`` with the global RNG set to this stream, then put back as it was."""
        if self.state is None:
            self.state = torch.get_rng_state()
        outside = torch.get_rng_state()
        torch.set_rng_state(self.state)
        try:
            return fn(arg)
        finally:
            self.state = torch.get_rng_state()
            torch.set_rng_state(outside)


def _split(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise CaseError(f"each DataLoader batch must be (inputs, targets), got {type(batch).__name__}")


def _head(x: Any, k: int) -> Any:
    """The first ``k`` samples of a batch: of a tensor, and of each tensor inside the tuple, list or dict that a
    model with several inputs takes (``x[:2]`` of a pair ``(x1, x2)`` is the pair itself, not two samples)."""
    if isinstance(x, torch.Tensor):
        return x[:k]
    if isinstance(x, dict):
        return {key: _head(v, k) for key, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_head(v, k) for v in x) if not hasattr(x, "_fields") else type(x)(*(_head(v, k) for v in x))
    return x


def _to(t: Any, device: torch.device | None) -> Any:
    """``t`` on ``device``: a tensor, or each tensor inside a tuple, list or dict of inputs (a model with several
    inputs or a dict batch); anything else unchanged."""
    if device is None:
        return t
    if isinstance(t, torch.Tensor):
        return t.to(device)
    if isinstance(t, dict):
        return {key: _to(v, device) for key, v in t.items()}
    if isinstance(t, (tuple, list)):
        return type(t)(_to(v, device) for v in t) if not hasattr(t, "_fields") else type(t)(*(_to(v, device) for v in t))
    return t
