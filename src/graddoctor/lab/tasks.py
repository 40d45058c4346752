"""Synthetic long-time-lag tasks for the recurrent experiments (lab experiment ``rnn-memory``).

* :func:`adding_problem`: Hochreiter & Schmidhuber 1997, §5.4 Task 4 (the "adding problem").
* :func:`temporal_order`: Hochreiter & Schmidhuber 1997, §5.6 Task 6a (also Pascanu et al. 2013, §4.1.1).
* :func:`cliff_loss`: Pascanu, Mikolov & Bengio 2013, §2.3: the single-unit RNN whose error surface has a
  steep wall.

Every generator takes a ``torch.Generator`` so that runs are reproducible, and returns batch-first tensors.
One deliberate simplification, stated here and in docs/lab/rnn-memory.md: the papers draw each sequence's
length independently from ``[T, T + T/10]``; here every sequence of one batch shares one length drawn from
that range (so a batch is one dense tensor and no padding or packing is needed). The lags therefore have
the papers' distribution; only their correlation within a batch differs.
"""
from __future__ import annotations

import torch

# ----------------------------------------------------------------------------------------- adding problem
#: Task 4: a prediction counts as correct when its absolute error is below this (Hochreiter & Schmidhuber
#: 1997, §5.4: "an error > 0.04 counts as a wrong prediction").
ADDING_TOLERANCE = 0.04
#: Task 4: one of the first ``ADDING_FIRST_WINDOW`` pairs carries the first marker.
ADDING_FIRST_WINDOW = 10
#: Task 4 stop criterion: average training error (squared error) below this ...
ADDING_STOP_MSE = 0.01
#: ... and the most recent ``STOP_RECENT`` training sequences processed correctly (Table 11, "ST3").
STOP_RECENT = 2000
#: Baseline of the adding problem: always predicting 0.5 gives MSE = Var[(X1+X2)/4] = (2/3)/16 and a wrong
#: prediction whenever |X1 + X2| > 0.16, i.e. for 1 - 0.1536 = 84.6 % of sequences (triangular law). Both
#: hold for sequences whose first pair is not marked; the paper zeroes a marked first pair's value, which
#: happens in about one sequence in ten and lowers the constant predictor's MSE to about 0.040.
ADDING_BASELINE_MSE = (2.0 / 3.0) / 16.0
ADDING_BASELINE_WRONG = 1.0 - (0.16 - 0.16 ** 2 / 4.0)  # = 1 - P(|X1+X2| <= 0.16) = 0.8464


def _length(T: int, gen: torch.Generator, vary: bool) -> int:
    """A sequence length drawn uniformly from ``[T, T + T // 10]`` (or exactly ``T``)."""
    if not vary or T // 10 == 0:
        return T
    return T + int(torch.randint(0, T // 10 + 1, (1,), generator=gen))


def adding_problem(n: int, T: int, gen: torch.Generator, vary_length: bool = True
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences of Hochreiter & Schmidhuber's adding problem (1997, Task 4).

    Each element is a pair (value, marker): values are uniform in [-1, 1]; markers are 0 except that the
    first and the last pair carry -1 and two pairs are *marked* with 1: one among the first 10 pairs and
    one among the first ``T/2 - 1`` pairs not yet marked. When the first pair is the marked one its value
    X1 is set to 0 (as in the paper). The target is ``0.5 + (X1 + X2) / 4`` and is read at the last step,
    so the minimal time lag is about ``T/2``.

    Args:
        n: number of sequences.
        T: minimal sequence length (the paper's T; lengths are drawn from ``[T, T + T/10]``).
        gen: random generator.
        vary_length: draw the batch's length from ``[T, T + T/10]``; ``False`` uses exactly ``T``.

    Returns:
        ``(x, y)``: x of shape ``(n, length, 2)`` (float32), y of shape ``(n, 1)``.
    """
    if T < 2 * (ADDING_FIRST_WINDOW // 2) + 4:
        raise ValueError(f"the adding problem needs T >= 14 (one marker in the first 10 pairs, the other in "
                         f"the first T/2 - 1), got T={T}")
    length = _length(T, gen, vary_length)
    values = torch.rand(n, length, generator=gen) * 2 - 1
    markers = torch.zeros(n, length)
    markers[:, 0] = -1.0
    markers[:, -1] = -1.0
    rows = torch.arange(n)
    first = torch.randint(0, ADDING_FIRST_WINDOW, (n,), generator=gen)
    # The second marker: uniform among the first T/2 - 1 positions other than ``first``.
    window = T // 2 - 1
    second = torch.randint(0, window - 1, (n,), generator=gen)
    second = second + (second >= first).long()
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    values[rows[first == 0], 0] = 0.0
    values[rows[second == 0], 0] = 0.0
    x1 = values[rows, first]
    x2 = values[rows, second]
    y = (0.5 + (x1 + x2) / 4.0).unsqueeze(1)
    return torch.stack([values, markers], dim=2), y


def adding_wrong(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Boolean mask of wrong predictions of the adding problem (absolute error > 0.04)."""
    return (pred.reshape(-1) - y.reshape(-1)).abs() > ADDING_TOLERANCE


# ----------------------------------------------------------------------------------------- temporal order
#: Task 6a symbols: the distractors a-d, the start/end symbols B and E, and the two informative X and Y.
ORDER_SYMBOLS = ("a", "b", "c", "d", "B", "E", "X", "Y")
#: Task 6a: the classes XX, XY, YX, YY.
ORDER_CLASSES = ("XX", "XY", "YX", "YY")
#: Task 6a: a sequence is processed correctly when the final absolute error of *all* outputs is below this.
ORDER_TOLERANCE = 0.3
#: Task 6a stop criterion: average training error below this (and the 2000 most recent sequences correct).
ORDER_STOP_ERR = 0.1


def temporal_order(n: int, T: int, gen: torch.Generator, vary_length: bool = True
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences of the temporal-order task (Hochreiter & Schmidhuber 1997, Task 6a).

    A sequence of length in ``[T, T + T/10]`` starts with E, ends with B, and is otherwise filled with
    random distractors a-d except for two informative symbols, each X or Y, at ``t1`` in
    ``[T/10, 2T/10]`` and ``t2`` in ``[T/2, T/2 + T/10]`` (for T = 100: [10, 20] and [50, 60], as in the
    paper). The class (XX, XY, YX, YY) is read at the end; the minimal lag is about ``T/2 - T/10``.

    Args:
        n: number of sequences.
        T: minimal sequence length (the paper used 100).
        gen: random generator.
        vary_length: draw the batch's length from ``[T, T + T/10]``; ``False`` uses exactly ``T``.

    Returns:
        ``(x, y)``: one-hot x of shape ``(n, length, 8)`` (float32) and class indices y of shape ``(n,)``.
    """
    if T < 10:
        raise ValueError(f"temporal order needs T >= 10, got T={T}")
    length = _length(T, gen, vary_length)
    sym = torch.randint(0, 4, (n, length), generator=gen)
    sym[:, 0] = ORDER_SYMBOLS.index("E")
    sym[:, -1] = ORDER_SYMBOLS.index("B")
    lo1, hi1 = max(1, T // 10), max(1, 2 * T // 10)
    lo2, hi2 = T // 2, T // 2 + T // 10
    t1 = torch.randint(lo1, hi1 + 1, (n,), generator=gen)
    t2 = torch.randint(lo2, hi2 + 1, (n,), generator=gen)
    a = torch.randint(0, 2, (n,), generator=gen)  # 0 = X, 1 = Y
    b = torch.randint(0, 2, (n,), generator=gen)
    rows = torch.arange(n)
    sym[rows, t1] = ORDER_SYMBOLS.index("X") + a
    sym[rows, t2] = ORDER_SYMBOLS.index("X") + b
    x = torch.nn.functional.one_hot(sym, len(ORDER_SYMBOLS)).float()
    return x, 2 * a + b


def order_correct(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Task 6a's criterion on class probabilities: every output within 0.3 of its one-hot target."""
    target = torch.nn.functional.one_hot(y, probs.shape[1]).to(probs.dtype)
    return ((probs - target).abs() < ORDER_TOLERANCE).all(dim=1)


# ----------------------------------------------------------------------------------------- Pascanu's cliff
#: Pascanu et al. 2013, §2.3: x_0 = 0.5, 50 steps, target 0.7 for sigma(x_50).
CLIFF_X0 = 0.5
CLIFF_STEPS = 50
CLIFF_TARGET = 0.7


def cliff_loss(w: torch.Tensor, b: torch.Tensor, steps: int = CLIFF_STEPS) -> torch.Tensor:
    """Pascanu's single-unit RNN error ``E = (sigmoid(x_T) - 0.7)^2`` with ``x_t = w sigmoid(x_{t-1}) + b``.

    ``w`` and ``b`` may be tensors of any (broadcastable) shape: every entry is an independent network, so
    ``cliff_loss(W, B).sum().backward()`` gives the gradient at every point of a grid at once.
    """
    x = torch.full_like(w * b, CLIFF_X0)
    for _ in range(steps):
        x = w * torch.sigmoid(x) + b
    return (torch.sigmoid(x) - CLIFF_TARGET) ** 2


def cliff_grid(w_range: tuple[float, float] = (-2.0, 12.0), b_range: tuple[float, float] = (-8.0, 4.0),
               n_w: int = 1401, n_b: int = 1201) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The error and its gradient norm on a (w, b) grid (float64; the reference used 1401 x 1201 points).

    Returns:
        ``(w, b, loss, grad_norm)``, each of shape ``(n_b, n_w)`` except ``w`` ``(n_w,)`` and ``b`` ``(n_b,)``.
    """
    w = torch.linspace(*w_range, n_w, dtype=torch.float64)
    b = torch.linspace(*b_range, n_b, dtype=torch.float64)
    W = w.unsqueeze(0).expand(n_b, n_w).clone().requires_grad_(True)
    B = b.unsqueeze(1).expand(n_b, n_w).clone().requires_grad_(True)
    loss = cliff_loss(W, B)
    gw, gb = torch.autograd.grad(loss.sum(), (W, B))
    return w, b, loss.detach(), torch.sqrt(gw ** 2 + gb ** 2)


class CliffRNN(torch.nn.Module):
    """Pascanu's single-unit RNN as a module (two scalar parameters ``w`` and ``b``), so it can be watched."""

    def __init__(self, w: float, b: float, steps: int = CLIFF_STEPS) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(float(w), dtype=torch.float64))
        self.b = torch.nn.Parameter(torch.tensor(float(b), dtype=torch.float64))
        self.steps = steps

    def forward(self) -> torch.Tensor:
        """The error E of the current (w, b) (a 0-d tensor)."""
        return cliff_loss(self.w, self.b, self.steps)
