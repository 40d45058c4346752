"""E4 – memory in recurrent nets: plain RNN vs LSTM/GRU on long time lags, and Pascanu's cliff with clipping.

Reads top to bottom:

1. The adding problem and the temporal-order task (Hochreiter & Schmidhuber 1997, Tasks 4 and 6a; the
   generators are in :mod:`graddoctor.lab.tasks`) at growing length T: a tanh RNN, an LSTM and a GRU of the
   same width, trained with Adam and norm clipping at 1.0 (published_results.md §4.5) until the papers' stop
   criterion holds (or an update cap), scored with the papers' success criteria on fresh test sequences.
2. Every run is watched by graddoctor (``gd.watch``), which records ``||dL/dx_t||`` for every time step of
   the recurrent layer's input: the gradient-through-time profile. The doctor examines the plain RNN at the
   longest T; its memory horizon is compared with the lag the task needs.
3. Pascanu's single-unit RNN: the gradient norm of its error surface on the reference grid (a thin wall
   five orders of magnitude steeper than the median), plain gradient descent thrown off the wall, and norm
   clipping at 0.5-10x the average gradient norm converging (Pascanu et al. 2013, §2.3 and Algorithm 1).

Set-up and tolerances: published_results.md §4.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import watch
from ...stats.tensor_stats import memory_horizon
from .. import doctor, figures, tasks
from ..base import Check, LabResult

NAME = "rnn-memory"
TITLE = "Plain RNN vs LSTM/GRU on long time lags; Pascanu's cliff and gradient clipping"
SOURCE = ("Hochreiter & Schmidhuber 1997, Long Short-Term Memory, Neural Computation 9(8), Tasks 4 and 6a; "
          "Bengio, Simard & Frasconi 1994, IEEE TNN 5(2); Pascanu, Mikolov & Bengio 2013, ICML, "
          "arXiv:1211.5063, §2.3 and Algorithm 1")

#: Captions of the figures on the HTML page (figure file stem -> caption).
FIGURE_CAPTIONS = {
    "rnn-memory-wrong-vs-T": "Fraction of test sequences wrong on the adding problem (left) and the temporal "
                             "order problem (right) against the minimal time lag T, for the plain RNN, the "
                             "LSTM and the GRU: the plain RNN fails at long lags, the gated nets do not.",
    "rnn-memory-profile": "The gradient reaching the input t steps before the loss, ||dL/dx_t||, on the "
                          "adding problem at its largest T, at the first update (left) and at the end of "
                          "training (right); dotted: the minimal lag. The plain RNN's decays exponentially "
                          "(Bengio et al. 1994), the LSTM's and GRU's reach far back.",
    "rnn-memory-cliff": "Left: log10 of the gradient norm of Pascanu's single-unit RNN over (w, b), with the "
                        "paths of unclipped and norm-clipped gradient descent: the narrow wall (cliff) throws "
                        "the unclipped path away. Right: the error E along each path; clipping converges.",
}

CELLS = ("RNN", "LSTM", "GRU")
#: Tags of the two configurations the doctor examines (the ``config`` key of each finding dict).
RNN_CONFIG, CLIFF_CONFIG = "plain RNN, adding problem", "single-unit cliff, unclipped SGD"
#: Sizes per mode (quick, full): task lengths T, the cap on training updates (a net stops earlier when the
#: paper's stop criterion holds, see ``train``), test sequences (the papers test 2560).
SIZES: dict[bool, dict[str, Any]] = {
    True: {"adding_T": (30,), "order_T": (30,), "adding_steps": 600, "order_steps": 200, "test_n": 1000,
           "grid": (701, 601)},
    False: {"adding_T": (20, 50, 100), "order_T": (20, 50, 100), "adding_steps": 5000, "order_steps": 3000,
            "test_n": 2560, "grid": (1401, 1201)},
}
#: Training seeds per configuration and mode (quick, full); ``--seeds`` overrides. Two seeds keep the full run
#: within ~12 min of CPU at one thread (docs/lab/rnn-memory.md: 737 s; the 3-seed run took 1,260 s).
SEEDS = {True: 1, False: 2}
#: Hidden units, batch, Adam learning rate and the clipping threshold used for every net (§4.5: Adam, batch
#: 64, norm clipping at 1.0 for all; the paper trained online with plain gradient descent).
HIDDEN, BATCH, LR, TRAIN_CLIP = 32, 64, 1e-2, 1.0
#: LSTM forget-gate bias. The 1997 LSTM had no forget gate (its constant error carrousel keeps the cell
#: exactly); Gers et al. 2000 added the gate and start it open with a positive bias. At PyTorch's default
#: (0) or the common 1, sigmoid(1)^50 = 1e-7: the cell forgets a 50-step lag at init, and in our runs the
#: LSTM stayed on the plateau of temporal order at T = 100 for all 3000 updates of the full run; with 3 (0.95
#: per step, 0.08 over 50 steps) it solved it after ~1000 updates (docs/lab/rnn-memory.md).
FORGET_BIAS = 3.0
#: Success of a trained gated net: at most this fraction of test sequences wrong (§4.5: "LSTM/GRU < 5 % wrong
#: at T=50 and T=100"); checked at every T >= GATED_MIN_T (the longest T only in quick mode).
GATED_MAX_WRONG, GATED_MIN_T = 0.05, 50
#: The full run also trains the LSTM with the common forget-gate bias 1 on temporal order at the longest T
#: (seed 0), to show what the bias of 3 buys and what the doctor says about that failed run.
FORGET_BIAS_COMMON = 1.0
#: Failure of the plain RNN at the longest T: at least this fraction wrong on the adding problem (§4.5:
#: ">= 30 % wrong at T = 100"; the constant predictor is wrong on 84.6 %) and on temporal order.
RNN_MIN_WRONG = 0.30
#: The memory horizon: steps back until ||dL/dx_t|| falls below this fraction of its value at the last step.
HORIZON_FACTOR = 1e-3
#: Cliff descent (§4.5 item 4): start just left of the wall, learning rate, updates.
CLIFF_START, CLIFF_LR, CLIFF_UPDATES = (4.6, -2.42), 0.1, 200
#: Clipping thresholds as multiples of the average unclipped gradient norm (Pascanu: "half to ten times").
CLIP_FACTORS = (0.5, 1.0, 2.0, 5.0, 10.0)
#: A cliff descent has converged when its median error E over the last CLIFF_TAIL updates is below this
#: (|sigmoid(x_50) - 0.7| < 0.1); the median, because a clipped descent still bounces along the wall.
CLIFF_CONVERGED, CLIFF_TAIL = 0.01, 50
#: The wall: max ||grad E|| over the grid must exceed the median by this factor (reference [C]: 1.2e5).
CLIFF_STEEPNESS = 1e4


class SeqNet(nn.Module):
    """A one-layer recurrent net (``cell`` in RNN/LSTM/GRU) read out linearly at the last time step."""

    def __init__(self, cell: str, n_in: int, n_out: int, hidden: int = HIDDEN,
                 forget_bias: float = FORGET_BIAS) -> None:
        super().__init__()
        self.rnn = getattr(nn, cell)(n_in, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_out)
        if cell == "LSTM":  # PyTorch orders the gates (input, forget, cell, output); two bias vectors add up.
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden:2 * hidden].fill_(forget_bias)
                self.rnn.bias_hh_l0[hidden:2 * hidden].zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)
        return self.out(h[:, -1])


TASKS: dict[str, dict[str, Any]] = {
    "adding": {"gen": tasks.adding_problem, "n_in": 2, "n_out": 1, "loss": lambda p, y: F.mse_loss(p, y),
               "correct": lambda p, y: ~tasks.adding_wrong(p, y),
               "seq_err": lambda p, y: (p - y).reshape(-1) ** 2, "stop_err": tasks.ADDING_STOP_MSE,
               "lag": lambda T: T // 2},
    "order": {"gen": tasks.temporal_order, "n_in": 8, "n_out": 4, "loss": F.cross_entropy,
              "correct": lambda p, y: tasks.order_correct(p.softmax(1), y),
              "seq_err": lambda p, y: ((p.softmax(1) - F.one_hot(y, 4)) ** 2).sum(1),
              "stop_err": tasks.ORDER_STOP_ERR, "lag": lambda T: T // 2 - T // 10},
}


def train(task: str, cell: str, T: int, steps: int, seed: int, test_n: int, diagnose: bool = False,
          forget_bias: float = FORGET_BIAS) -> dict[str, Any]:
    """Train one net on one task under ``gd.watch``; score it with the paper's criteria.

    Training stops as in the papers (Hochreiter & Schmidhuber 1997, Table 11, "ST3"): as soon as the average
    training error over the last 2000 sequences is below the task's threshold and the 2000 most recent
    training sequences were all processed correctly; otherwise after ``steps`` updates.

    Returns:
        dict with ``wrong`` (fraction of fresh test sequences wrong), ``test_loss`` on the test set,
        ``solved_at`` (training sequences seen when the paper's stop criterion held, or None), ``updates``
        (updates made), ``profile0``/``profile`` (||dL/dx_t|| at the first and at the last recorded update,
        ``profile_update``; last entry nearest the loss), and ``findings`` when ``diagnose``.
    """
    spec = TASKS[task]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = SeqNet(cell, spec["n_in"], spec["n_out"], forget_bias=forget_bias)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    recent_ok = 0           # consecutive correct training sequences (the stop criterion's "2000 most recent")
    errs: list[float] = []  # per-batch mean error for the running average
    solved_at = None
    window = max(1, tasks.STOP_RECENT // BATCH)
    updates = 0
    # detail_every=1: the time profile is taken at every recorded update (a detail statistic), so the
    # "end of training" profile is at most one recording stride before an early stop.
    with watch(model, opt, every=_watch_schedule(steps), detail_every=1) as run:
        for s in range(steps):
            x, y = spec["gen"](BATCH, T, gen)
            pred = model(x)
            loss = spec["loss"](pred, y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN_CLIP)
            opt.step()
            run.step(loss=loss)
            with torch.no_grad():
                ok = spec["correct"](pred, y)
                recent_ok = recent_ok + BATCH if bool(ok.all()) else int((~ok).flip(0).int().argmax())
                errs.append(float(spec["seq_err"](pred, y).mean()))
            updates = s + 1
            if recent_ok >= tasks.STOP_RECENT and np.mean(errs[-window:]) < spec["stop_err"]:
                solved_at = updates * BATCH
                break
    data = run.data
    prof = data.series.get("time_signal", {}).get("rnn")
    with torch.no_grad():
        xt, yt = spec["gen"](test_n, T, torch.Generator().manual_seed(10_000 + seed), vary_length=False)
        pt = model(xt)
    res = {"task": task, "cell": cell, "T": T, "seed": seed, "lag": spec["lag"](T),
           "wrong": float(1 - spec["correct"](pt, yt).float().mean()), "test_loss": float(spec["loss"](pt, yt)),
           "solved_at": solved_at, "updates": updates, "loss": data.step_stats["loss"].tolist(),
           "profile0": _finite(prof[1][0]) if prof is not None else [],
           "profile": _finite(prof[1][-1]) if prof is not None else [],
           "profile_update": int(prof[0][-1]) if prof is not None else None}
    if diagnose:
        res["findings"] = doctor.diagnose(run)
    return res


def _watch_schedule(steps: int) -> Callable[[int], bool]:
    """Record the first updates densely, then about 50 more evenly, and always the last one."""
    stride = max(1, steps // 50)
    return lambda s: s < 10 or s % stride == 0 or s == steps - 1


def _finite(v: np.ndarray) -> list[float]:
    return [float(a) for a in v if np.isfinite(a)]


def _profile_gain(profile: list[float], lag: int) -> float:
    """||dL/dx_{t_end - lag}|| / ||dL/dx_{t_end}||: how much gradient reaches the input ``lag`` steps back."""
    if len(profile) <= lag or profile[-1] <= 0:
        return float("nan")
    return profile[-1 - lag] / profile[-1]


# --------------------------------------------------------------------------------------- Pascanu's cliff
def descend(start: tuple[float, float], lr: float, updates: int, threshold: float | None = None
            ) -> dict[str, Any]:
    """Gradient descent on the single-unit error, with Pascanu's norm clipping when ``threshold`` is set."""
    model = tasks.CliffRNN(*start)
    losses, norms, moves, path = [], [], [], [start]
    for _ in range(updates):
        loss = model()
        gw, gb = torch.autograd.grad(loss, (model.w, model.b))
        norm = math.hypot(float(gw), float(gb))
        scale = threshold / norm if threshold is not None and norm >= threshold else 1.0
        with torch.no_grad():
            model.w.sub_(lr * scale * gw)
            model.b.sub_(lr * scale * gb)
        losses.append(float(loss.detach()))
        norms.append(norm)
        moves.append(lr * scale * norm)
        path.append((float(model.w.detach()), float(model.b.detach())))
    losses.append(float(model().detach()))
    return {"final_loss": float(np.median(losses[-CLIFF_TAIL:])), "losses": losses, "norms": norms, "max_move": max(moves), "path": path}


def watched_cliff(start: tuple[float, float], lr: float, updates: int) -> list[dict[str, Any]] | None:
    """The unclipped descent again, as a module trained with SGD under ``gd.watch``; the doctor's findings."""
    model = tasks.CliffRNN(*start)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with watch(model, opt) as run:
        for _ in range(updates):
            loss = model()
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return doctor.diagnose(run)


def cliff_part(result: LabResult, grid: tuple[int, int], say: Callable[[str], None]) -> dict[str, Any]:
    say("Pascanu's single-unit cliff")
    w, b, loss, gnorm = tasks.cliff_grid(n_w=grid[0], n_b=grid[1])
    i = int(gnorm.argmax())
    r, c = divmod(i, gnorm.shape[1])
    gmax, gmed = float(gnorm.max()), float(gnorm.median())
    result.checks += [
        Check("cliff: max ||grad E|| / median over the grid", "4.4e2 / 3.7e-3 = 1.2e5 [C]", gmax / gmed,
              f"> {CLIFF_STEEPNESS:.0e}", gmax / gmed > CLIFF_STEEPNESS,
              note=f"grid {grid[0]}x{grid[1]}; max {gmax:.3g} at (w, b) = ({float(w[c]):.2f}, {float(b[r]):.2f})"),
        Check("cliff: fraction of grid with ||grad E|| > 1", "0.03 % [C]", float((gnorm > 1).double().mean()),
              "< 1 %", float((gnorm > 1).double().mean()) < 0.01),
    ]
    plain = descend(CLIFF_START, CLIFF_LR, CLIFF_UPDATES)
    avg = float(np.mean(plain["norms"]))
    clipped = {f: descend(CLIFF_START, CLIFF_LR, CLIFF_UPDATES, f * avg) for f in CLIP_FACTORS}
    converged = {f: r["final_loss"] < CLIFF_CONVERGED for f, r in clipped.items()}
    result.checks += [
        Check(f"cliff: unclipped GD thrown off the wall (median E, last {CLIFF_TAIL} updates)", "jumps out of the basin (Pascanu Fig. 6)",
              plain["final_loss"], f">= {CLIFF_CONVERGED}", plain["final_loss"] >= CLIFF_CONVERGED,
              note=f"largest step {plain['max_move']:.3g} (lr x max norm)"),
        Check("cliff: norm clipping at 0.5-10x the average norm converges", "converges (Pascanu §3.2)",
              {f"{f:g}x": round(r["final_loss"], 6) for f, r in clipped.items()}, f"all median E < {CLIFF_CONVERGED}",
              all(converged.values()), note=f"average unclipped norm {avg:.3g} over {CLIFF_UPDATES} updates"),
        Check("cliff: clipped step <= lr x threshold", "by construction (Algorithm 1)",
              max(r["max_move"] / (CLIFF_LR * f * avg) for f, r in clipped.items()), "<= 1 + 1e-9",
              all(r["max_move"] <= CLIFF_LR * f * avg * (1 + 1e-9) for f, r in clipped.items())),
    ]
    say("doctor on the unclipped cliff descent")
    findings = watched_cliff(CLIFF_START, CLIFF_LR, CLIFF_UPDATES)
    return {"grid_w": w[::max(1, grid[0] // 200)].tolist(), "grid_b": b[::max(1, grid[1] // 200)].tolist(),
            "log10_grad": torch.log10(gnorm[::max(1, grid[1] // 200), ::max(1, grid[0] // 200)] + 1e-12).tolist(),
            "plain": plain, "clipped": {f"{f:g}": r for f, r in clipped.items()}, "avg_norm": avg,
            "findings": findings}


# --------------------------------------------------------------------------------------- the experiment
def run(quick: bool = True, seeds: int | None = None, out: Path | None = None,
        progress: Callable[[str], None] | None = None) -> LabResult:
    """Run E4 (see the module docstring). ``seeds`` sets the training seeds per configuration (``SEEDS``)."""
    say = progress or (lambda msg: None)
    size = SIZES[quick]
    n_seeds = seeds or SEEDS[quick]
    result = LabResult(NAME, TITLE, SOURCE, quick=quick, seeds=n_seeds)

    # 1-2. Long-lag tasks at growing T, every run watched; the doctor on the plain RNN at the longest T.
    runs: list[dict[str, Any]] = []
    for task, Ts, steps in (("adding", size["adding_T"], size["adding_steps"]),
                            ("order", size["order_T"], size["order_steps"])):
        for T in Ts:
            for cell in CELLS:
                say(f"{task} T={T} {cell} (at most {steps} updates x {n_seeds} seed(s))")
                for seed in range(n_seeds):
                    t0 = time.process_time()
                    diag = task == "adding" and T == max(Ts) and cell == "RNN" and seed == 0
                    r = train(task, cell, T, steps, seed, size["test_n"], diagnose=diag)
                    r["cpu_seconds"] = round(time.process_time() - t0, 2)
                    runs.append(r)
    table = _table(runs)
    solved = _solved(runs)
    for task, Ts in (("adding", size["adding_T"]), ("order", size["order_T"])):
        T = max(Ts)
        lag = TASKS[task]["lag"](T)
        pub = ("LSTM 1/2560 wrong at T=100 (Table 7); RTRL/BPTT fail beyond ~10 steps" if task == "adding"
               else "LSTM 1/2560 wrong at T=100 (Table 9); RNN fails")
        for Tg in [t for t in Ts if t >= GATED_MIN_T or t == T]:
            best = min(("LSTM", "GRU"), key=lambda c: table[(task, Tg, c)])
            result.checks.append(Check(
                f"{task} T={Tg}: best gated net, fraction of test sequences wrong (mean of {n_seeds} seed(s))", pub,
                table[(task, Tg, best)], f"<= {GATED_MAX_WRONG:.0%}", table[(task, Tg, best)] <= GATED_MAX_WRONG,
                note=f"{best}; " + _solved_note(solved, task, Tg)))
        rnn = table[(task, T, "RNN")]
        result.checks.append(Check(
            f"{task} T={T}: plain RNN, fraction wrong (mean of {n_seeds} seed(s))",
            "fails (near the constant predictor)", rnn, f">= {RNN_MIN_WRONG:.0%}", rnn >= RNN_MIN_WRONG,
            note=_solved_note(solved, task, T, ("RNN",))))
        prof = {c: _mean_profile(runs, task, T, c) for c in CELLS}
        gains = {c: _profile_gain(p, lag) for c, p in prof.items()}
        horizon = memory_horizon(prof["RNN"], HORIZON_FACTOR)
        result.checks.append(Check(
            f"{task} T={T}: gradient reaching the input {lag} steps back, RNN vs best gated net (end of training)",
            "RNN error flow decays exponentially (Hochreiter §3.1; Bengio 1994)",
            {c: float(f"{g:.3g}") for c, g in gains.items()}, "RNN < min(LSTM, GRU)",
            gains["RNN"] < min(gains["LSTM"], gains["GRU"]),
            note=f"RNN memory horizon ({HORIZON_FACTOR:g} of the last step): {horizon} steps (lag {lag})"))
    rnn_run = next(r for r in runs if "findings" in r)
    rnn_findings = rnn_run.pop("findings")
    doctor.attach(result, rnn_findings, f"the plain RNN on the adding problem, T={rnn_run['T']} (gd.watch)")
    result.findings = [{**f, "config": RNN_CONFIG} for f in result.findings]
    bias1 = None
    if not quick:  # the LSTM with the common forget bias 1 on temporal order at the longest T (seed 0)
        T = max(size["order_T"])
        say(f"order T={T} LSTM, forget bias {FORGET_BIAS_COMMON:g} (at most {size['order_steps']} updates)")
        t0 = time.process_time()
        bias1 = train("order", "LSTM", T, size["order_steps"], 0, size["test_n"], diagnose=True,
                      forget_bias=FORGET_BIAS_COMMON)
        bias1["cpu_seconds"] = round(time.process_time() - t0, 2)
        bias1["forget_bias"] = FORGET_BIAS_COMMON
        b1_findings = bias1.pop("findings")
        bias1["doctor"] = doctor.summary(b1_findings)
        bias1["gain"] = _profile_gain(bias1["profile"], TASKS["order"]["lag"](T))

    # 3. Pascanu's cliff and clipping.
    cliff = cliff_part(result, size["grid"], say)
    cliff_findings = cliff.pop("findings")
    if cliff_findings is not None:
        result.findings += [{**f, "config": CLIFF_CONFIG} for f in cliff_findings]
        result.diagnosed += " and Pascanu's single-unit RNN, unclipped SGD (gd.watch)"
    result.remedy = {
        f"use_lstm_or_gru: fraction wrong RNN -> LSTM, GRU ({task}, T={T})":
            [table[(task, T, "RNN")], table[(task, T, "LSTM")], table[(task, T, "GRU")]]
        for task, T in (("adding", max(size["adding_T"])), ("order", max(size["order_T"])))}
    result.remedy["clip_grad_norm: cliff median final E unclipped -> clipped at 1x average"] = [
        cliff["plain"]["final_loss"], cliff["clipped"]["1"]["final_loss"]]
    if bias1 is not None:
        T = bias1["T"]
        result.remedy[f"forget_gate_bias: LSTM fraction wrong, order T={T}, seed 0, bias "
                      f"{FORGET_BIAS_COMMON:g} -> {FORGET_BIAS:g}"] = [
            bias1["wrong"], next(r["wrong"] for r in runs if (r["task"], r["T"], r["cell"], r["seed"]) == ("order", T, "LSTM", 0))]
    result.series = {"runs": runs, "wrong": {f"{k[0]} T={k[1]} {k[2]}": v for k, v in table.items()},
                     "solved": {f"{k[0]} T={k[1]} {k[2]}": v for k, v in solved.items()},
                     "lstm_forget_bias_1": bias1, "cliff": cliff}
    plot(runs, cliff, size, out, result.figures)
    return result


def _table(runs: list[dict[str, Any]]) -> dict[tuple[str, int, str], float]:
    """Mean fraction of test sequences wrong per (task, T, cell) over seeds."""
    keys = {(r["task"], r["T"], r["cell"]) for r in runs}
    return {k: float(np.mean([r["wrong"] for r in runs if (r["task"], r["T"], r["cell"]) == k])) for k in keys}


def _solved(runs: list[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    """Per (task, T, cell): how many seeds met the paper's stop criterion, the training sequences each needed
    (and their mean), and the fraction of test sequences wrong per seed."""
    out: dict[tuple[str, int, str], dict[str, Any]] = {}
    for k in sorted({(r["task"], r["T"], r["cell"]) for r in runs}):
        group = [r for r in runs if (r["task"], r["T"], r["cell"]) == k]
        at = [r["solved_at"] for r in group if r["solved_at"] is not None]
        out[k] = {"solved": len(at), "seeds": len(group), "sequences": at,
                  "mean_sequences": float(np.mean(at)) if at else None,
                  "wrong_per_seed": [r["wrong"] for r in group]}
    return out


def _solved_note(solved: dict[tuple[str, int, str], dict[str, Any]], task: str, T: int,
                 cells: tuple[str, ...] = ("LSTM", "GRU")) -> str:
    """``LSTM met the stop criterion 3/3 (mean 60,000 sequences), wrong per seed 0.0000, ...; GRU ...``."""
    parts = []
    for c in cells:
        s = solved[(task, T, c)]
        mean = f" (mean {s['mean_sequences']:,.0f} sequences)" if s["solved"] else ""
        parts.append(f"{c} met the stop criterion {s['solved']}/{s['seeds']}{mean}, wrong per seed "
                     + ", ".join(f"{w:.4f}" for w in s["wrong_per_seed"]))
    return "; ".join(parts)


def _mean_profile(runs: list[dict[str, Any]], task: str, T: int, cell: str, key: str = "profile") -> list[float]:
    """The end-of-training gradient profile averaged over seeds, truncated to the shortest recorded length."""
    profs = [r[key] for r in runs if (r["task"], r["T"], r["cell"]) == (task, T, cell) and r[key]]
    if not profs:
        return []
    n = min(len(p) for p in profs)
    return np.mean([p[-n:] for p in profs], axis=0).tolist()


def plot(runs: list[dict[str, Any]], cliff: dict[str, Any], size: dict[str, Any], out: Path | None,
         written: list[str]) -> None:
    """Three PNGs: fraction wrong vs T, the gradient-through-time profiles, and the cliff with clipping."""
    if out is None:
        return
    table = _table(runs)
    fig, axes = figures.figure(2)
    for ax, task in zip(axes, ("adding", "order")):
        Ts = size[f"{task}_T"]
        for cell in CELLS:
            ax.plot(Ts, [table[(task, T, cell)] for T in Ts], marker="o", label=cell)
        ax.set(title=f"{task}: test sequences wrong", xlabel="T (minimal length)", ylabel="fraction wrong",
               ylim=(-0.02, 1.02))
        ax.set_xticks(list(Ts))  # the lengths trained (quick: one, T = 30, ticked 28.5 ... 31.5 by default)
        ax.legend()
    figures.save(fig, out, "rnn-memory-wrong-vs-T", written)
    fig, axes = figures.figure(2)
    T = max(size["adding_T"])
    for ax, key, when in zip(axes, ("profile0", "profile"), ("first update", "end of training")):
        for cell in CELLS:
            p = _mean_profile(runs, "adding", T, cell, key)
            if p:
                ax.semilogy(np.arange(len(p))[::-1], np.maximum(p, 1e-30), label=cell)
        ax.axvline(T // 2, color="grey", ls=":", label="minimal lag")
        ax.set(title=f"adding T={T}: ||dL/dx_t|| ({when})", xlabel="steps before the loss", ylabel="norm")
        ax.legend()
    figures.save(fig, out, "rnn-memory-profile", written)
    fig, axes = figures.figure(2)
    im = axes[0].pcolormesh(cliff["grid_w"], cliff["grid_b"], cliff["log10_grad"], shading="auto", cmap="viridis")
    fig.colorbar(im, ax=axes[0], label="log10 ||grad E||")
    for label, r in (("unclipped", cliff["plain"]), ("clipped 1x avg", cliff["clipped"]["1"])):
        pw, pb = zip(*r["path"])
        axes[0].plot(pw, pb, marker=".", ms=2, label=label)
        axes[1].semilogy(np.maximum(r["losses"], 1e-12), label=label)
    axes[0].set(title="Pascanu's single-unit RNN: the wall", xlabel="w", ylabel="b")
    axes[0].legend(loc="upper left")
    axes[1].set(title="error E during descent", xlabel="update", ylabel="E")
    axes[1].legend(loc="lower left")
    figures.save(fig, out, "rnn-memory-cliff", written)


if __name__ == "__main__":
    from ..runner import standalone

    standalone(TITLE, run)
