"""A live terminal view of a run that another process is writing (``graddoctor live RUN.sqlite``).

Every refresh re-reads only the last ``window`` recorded steps of the store (SQLite WAL readers never block the
writer), and shows per layer a sparkline of the backward signal ‖∂L/∂out‖ over that window on one log scale
shared by all layers (so a vanishing gradient shows as low bars on the input side), the latest findings
(stored with the run, or a diagnosis of the window every :data:`DIAGNOSE_EVERY_S` seconds) and steps per
second. It stops when the run's status is no longer ``running``, or on Ctrl-C. A writer that is killed or crashes
never marks its run finished, so when no new step has arrived for :data:`STALE_AFTER_S` seconds the view says the
writer may have stopped, and with ``exit_when_stale`` (``--exit-when-stale``) it ends by itself.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..errors import SchemaVersionError, StoreError
from ..store.run_data import RunData
from ..store.sqlite import DamagedStoreError, UnreadableWalError, never_a_store
from .console import COLUMN_GAP, SEVERITY_STYLE, compact_table
from .explain import as_dict, fmt_num, printable, where
from .plots import pick_layers
from .sampling import latest_values, load_for_display, nonfinite_positions

#: Seconds between refreshes.
REFRESH_S = 1.0
#: Recorded steps shown per sparkline (the most recent ones).
WINDOW = 60
#: Most layers listed (evenly spaced, first and last included, when the model has more).
MAX_LAYERS = 40
#: Seconds between diagnoses of the window when the store holds no findings (a diagnosis reads only the window,
#: so it is cheap, but not free).
DIAGNOSE_EVERY_S = 5.0
#: Most findings listed.
MAX_FINDINGS = 6
#: How long to wait for the store file to appear before giving up, in seconds.
WAIT_FOR_FILE_S = 30.0
#: Seconds without a new recorded step (counted from when the view started or last saw one) after which the
#: view says the writer may have stopped: a writer killed (SIGKILL, out of memory) or crashed hard never sets the
#: run's status, which stays ``running``. 60 s is 10x a 0.1 s/step run's flush interval (flush_every=50 steps);
#: a writer that flushes less often than this is shown the notice wrongly (raise ``--stale-after``), which is
#: why the view only *says* so and does not end unless ``--exit-when-stale`` is given.
STALE_AFTER_S = 60.0
#: Characters the other columns of the layer panel take besides the layer name (#, act, latest, update ratio,
#: gaps); the sparkline gets the rest of the terminal width, but at least MIN_SPARK characters.
SPARK_RESERVE = 46
MIN_SPARK = 10
#: Fewest decades the layers' shared sparkline scale spans (below its top, the largest value in the window). A
#: scale from the smallest value to the largest drew a healthy LSTM's 0.19 as ▁ beside 0.29 as █, which reads
#: as a vanishing gradient; two decades keep that pair at ▇ and █ and still give the 8 levels to a real one.
MIN_SPARK_DECADES = 2.0
#: Characters of a sparkline, lowest to highest.
SPARK = "▁▂▃▄▅▆▇█"
#: Sparkline character of an exact zero, which a log scale cannot place: a blank read as "not recorded" for a
#: dead layer whose backward signal is 0 at every step.
SPARK_ZERO = "0"


def sparkline(values: np.ndarray, lo: float, hi: float) -> str:
    """One character per value on a log scale from ``lo`` to ``hi``; :data:`SPARK_ZERO` for an exact zero, a
    space for missing (NaN) or negative values, ``!`` for non-finite ones that are not NaN (Inf)."""
    out = []
    span = max(hi - lo, 1e-12)
    for v in np.asarray(values, dtype=np.float64):
        if np.isinf(v):
            out.append("!")
        elif v == 0:
            out.append(SPARK_ZERO)
        elif not np.isfinite(v) or v < 0:
            out.append(" ")
        else:
            k = int((math.log10(v) - lo) / span * (len(SPARK) - 1) + 0.5)
            out.append(SPARK[min(max(k, 0), len(SPARK) - 1)])
    return "".join(out)


@dataclass
class LiveState:
    """What the view remembers between refreshes."""

    path: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    findings_source: str = ""
    last_diagnosis: float = 0.0
    last_step: int | None = None
    frames: int = 0
    #: Steps recorded at the last change, and when (time.monotonic()) the view saw it.
    last_total: int | None = None
    last_change: float = 0.0
    #: The "writer may have stopped" line while no new step has arrived for ``stale_after`` seconds, else "".
    notice: str = ""


def stale_notice(seconds: float, exit_when_stale: bool) -> str:
    """What the view says when no new step has arrived for ``seconds`` while the status is still running."""
    then = ("exiting (--exit-when-stale)" if exit_when_stale else
            "Ctrl-C to quit (the store is kept), or rerun with --exit-when-stale to end by itself")
    return (f"no new step for {seconds:.0f} s while the status is still 'running': the writer may have stopped "
            f"(killed or crashed before marking the run finished), or flushes less often than that; {then}")


def check_stale(state: LiveState, status: str, total: int, now: float, stale_after: float,
                exit_when_stale: bool) -> bool:
    """Update ``state.notice`` after a read; True when the run is stale (running, no new step for
    ``stale_after`` seconds)."""
    if total != state.last_total:
        state.last_total, state.last_change = total, now
    age = now - state.last_change
    stale = status == "running" and age >= stale_after
    state.notice = stale_notice(age, exit_when_stale) if stale else ""
    return stale


def steps_per_second(data: RunData) -> float | None:
    """Recorded steps per second of wall time over the window (None when it cannot be told)."""
    wall = data.step_stats.get("wall_time")
    if wall is None or data.n_steps < 2 or not np.isfinite(wall[[0, -1]]).all() or wall[-1] <= wall[0]:
        return None
    return float((data.steps[-1] - data.steps[0]) / (wall[-1] - wall[0]))


def stored_findings_stale(data: RunData) -> bool:
    """True when the findings stored with the run were stored before its last step in ``data`` (a
    ``graddoctor diagnose`` taken while it trains): they cannot tell what came after them."""
    from ..store.sqlite import latest_findings_time

    start, wall = data.meta.get("start_time"), data.step_stats.get("wall_time")
    if not data.path or not isinstance(start, (int, float)) or wall is None or not wall.size \
            or not np.isfinite(wall[-1]):
        return False
    try:
        created = latest_findings_time(data.path)
    except StoreError:
        return False
    return created is not None and created < start + float(wall[-1])


def _refresh_findings(data: RunData, state: LiveState, now: float) -> None:
    # Stored findings are shown while they are the newest word on the run; a diagnosis stored mid-run was shown
    # for the rest of it, however the run went on, and the window was never diagnosed again.
    if data.findings and not stored_findings_stale(data):
        state.findings, state.findings_source = [as_dict(f) for f in data.findings], "stored with the run"
        return
    if now - state.last_diagnosis < DIAGNOSE_EVERY_S or not data.n_steps:
        return
    state.last_diagnosis = now
    try:
        from ..diagnosis import diagnose_run

        diag = diagnose_run(data)
    except Exception:  # a live view must keep running; the findings line says none are available
        state.findings_source = "diagnosis unavailable"
        return
    state.findings = [f.to_dict() for f in diag.findings]
    state.findings_source = ("diagnosis of the only step" if data.n_steps == 1 else
                             f"diagnosis of the last {data.n_steps} steps")


def layer_panel(data: RunData, max_layers: int = MAX_LAYERS, width: int | None = None) -> Table:
    """Per layer: activation, sparkline of ‖∂L/∂out‖ over the window, latest value, latest update ratio (from
    the last detail step in the window).
    With ``width``, the sparklines keep the most recent values that fit beside the other columns; a terminal too
    narrow for every column leaves out the update ratio, then the activation, then the latest value (and says
    so) rather than cut numbers short ("2.83" for 2.83e-05)."""
    sig = data.layer_stats.get("signal_norm")
    upd = data.layer_stats.get("update_ratio")
    heads = ("#", "layer", "act", "‖∂L/∂out‖ (log scale)", "latest", "‖ΔW‖/‖W‖")
    if sig is None or not data.n_steps:
        # the layers are known before the first flush: list them (an empty table said nothing of why)
        table = compact_table()
        for head in heads:
            table.add_column(head, justify="right" if head in ("#", "latest", "‖ΔW‖/‖W‖") else "left",
                             no_wrap=head != "layer", overflow="fold")
        for i in pick_layers(len(data.layers), max_layers):
            table.add_row(str(i), Text(printable(data.layers[i].name)), Text(printable(data.layers[i].activation or "-")),
                          "", "-", "-")
        if not data.n_steps:
            table.caption = no_steps_note(data.meta)
        return table
    # the update ratio is measured on detail steps only (every detail_every-th recorded step): its latest value
    # is that of the last detail step in the window, not the NaN of the steps in between
    upd_latest = latest_values(data, ["update_ratio"])[0]["update_ratio"] if upd is not None else None
    pos = sig[np.isfinite(sig) & (sig > 0)]
    lo, hi = (math.log10(float(pos.min())), math.log10(float(pos.max()))) if pos.size else (0.0, 1.0)
    lo = min(lo, hi - MIN_SPARK_DECADES)
    names = max((len(printable(x.name)) for x in data.layers), default=5)
    shown = pick_layers(len(data.layers), max_layers)
    cells = [[str(i), printable(data.layers[i].name), printable(data.layers[i].activation or "-"), "",
              fmt_num(float(sig[i, -1])),
              fmt_num(float(upd_latest[i])) if upd_latest is not None else "-"] for i in shown]
    keep = list(range(len(heads)))
    if width is None:
        spark_w = data.n_steps
    elif width - min(names, 24) - SPARK_RESERVE >= max(MIN_SPARK, len(heads[3])):
        spark_w = width - min(names, 24) - SPARK_RESERVE
    else:
        # the sparkline column is at least as wide as its heading, the name folds, numbers are never cut
        need = [max([len(heads[k])] + [len(c[k]) for c in cells]) for k in range(len(heads))]
        need[1], need[3] = max(len(heads[1]), min(names, 12)), max(MIN_SPARK, len(heads[3]))

        def total(cols: list[int]) -> int:
            return sum(need[k] for k in cols) + COLUMN_GAP * (len(cols) - 1) + 2

        for k in (5, 2, 4):
            if total(keep) <= width:
                break
            keep.remove(k)
        spark_w = max(need[3], width - total(keep) + need[3])
    table = compact_table()
    for k in keep:
        head = heads[k]
        numeric = head in ("#", "latest", "‖ΔW‖/‖W‖")
        table.add_column(head, justify="right" if numeric else "left", no_wrap=head != "layer", overflow="fold",
                         min_width=max(len(c[k]) for c in cells) if numeric else None)
    for i, c in zip(shown, cells):
        c[3] = sparkline(sig[i, -spark_w:], lo, hi)
        table.add_row(*[Text(c[k]) if k in (1, 2) else c[k] for k in keep])
    notes = []
    settings = data.meta.get("settings")
    if isinstance(settings, dict) and settings.get("signal") is False:  # blank sparklines, and no word why
        notes.append("‖∂L/∂out‖ was not recorded (watch(signal=True) records it)")
    if len(data.layers) > max_layers:
        notes.append(f"{max_layers} of {len(data.layers)} layers shown (evenly spaced)")
    if len(keep) < len(heads):
        notes.append(f"not shown for width: {', '.join(heads[k] for k in range(len(heads)) if k not in keep)}")
    if notes:
        table.caption = "; ".join(notes)
    return table


def no_steps_note(meta: dict[str, Any]) -> str:
    """What the layer panel says before the store holds a step: the writer stores the first recorded step when
    the next one begins, then its steps in batches (or, once the run has ended, that it recorded none)."""
    if (meta.get("status") or "running") != "running":
        return "the run ended without recording a step"
    raw = meta.get("settings")
    every = raw.get("flush_every") if isinstance(raw, dict) else None
    batch = f"every {every} recorded steps" if isinstance(every, int) and not isinstance(every, bool) else \
        "in batches"
    return (f"no step recorded yet: the writer stores the first one when the next begins, then its steps {batch} "
            "(watch(flush_every=...))")


def recorded(total: int | None) -> str:
    """``1 step recorded``, ``1,200 steps recorded``, ``- steps recorded`` (unknown)."""
    return f"{fmt_num(total) if total is not None else '-'} step{'' if total == 1 else 's'} recorded"


def finding_line(f: dict[str, Any]) -> Text:
    """``CRITICAL vanishing_gradient (depth) at 0, 2, 4 from step 0``: one finding on one line."""
    step = f" from step {f['step']}" if f.get("step") is not None else ""
    return Text.assemble((printable(f["severity"].upper()), SEVERITY_STYLE.get(f["severity"], "")),
                         printable(f" {f['kind']}" + (f" ({f['axis']})" if f.get("axis") else "") + f" at {where(f)}{step}"))


def finding_key(f: dict[str, Any]) -> str:
    """What makes a finding new to a log: :func:`finding_line` without its step. A window diagnosis dates a
    finding that lasts the whole run to the first step of its window ("from step 2070", then "from step 3770"), so
    keyed by the whole line the same vanishing gradient was printed again each time the window moved."""
    return finding_line({**f, "step": None}).plain


def nonfinite_note_of(data: RunData) -> str:
    """``"  ·  NaN/Inf gradients at 3 of the last 60 steps"`` when the window holds such steps, else ``""``."""
    bad = nonfinite_positions(data.step_stats)
    if not bad.size:
        return ""
    of = "the only step" if data.n_steps == 1 else f"{bad.size} of the last {data.n_steps} steps"
    return f"  ·  NaN/Inf gradients at {of}"


def render(data: RunData, state: LiveState, total_steps: int | None = None, width: int | None = None,
           waiting: bool = True) -> Group:
    """The whole view for one refresh. ``waiting``: the view goes on refreshing (then it says how to quit)."""
    meta = data.meta
    status = meta.get("status") or "starting"
    rate = steps_per_second(data)
    last = int(data.steps[-1]) if data.n_steps else None
    loss = data.step_stats.get("loss")
    # before the writer has stored its metadata there is no model class: "path  ·    ·  status starting"
    model = printable(str(meta.get("model_class") or ""))
    head = Text.assemble(("graddoctor live ", "bold"), printable(state.path), "  ·  ",
                         *((model, "  ·  ") if model else ()), "status ",
                         (printable(status), "green" if status == "running" else "bold"))
    # a NaN loss reads "-" (not logged) unless the run logged one on every step, when it is a real NaN
    last_loss = float(loss[-1]) if loss is not None and loss.size else float("nan")
    loss_text = "NaN" if math.isnan(last_loss) and meta.get("loss_every_step") is True else fmt_num(last_loss)
    line = Text(f"step {last if last is not None else '-'}  ·  "
                f"{recorded(total_steps)}  ·  "
                f"{fmt_num(rate) if rate is not None else '-'} steps/s  ·  loss {loss_text}")
    note = nonfinite_note_of(data)
    if note:  # blank sparklines and "-" everywhere said nothing of why
        line.append(note, style="bold red")
    parts: list[Any] = [head, line, layer_panel(data, width=width)]
    parts.append(Text(f"findings ({state.findings_source or 'none yet'}):", style="bold"))
    if not state.findings:
        parts.append(Text("  none so far"))
    for f in state.findings[:MAX_FINDINGS]:
        parts.append(Text.assemble("  ", finding_line(f)))
    if state.notice:
        parts.append(Text(state.notice, style="bold yellow"))
    if waiting and status == "running":
        parts.append(Text("Ctrl-C to quit", style="dim"))
    return Group(*parts)


def _read(path: str, window: int) -> tuple[RunData, int]:
    data, sampling = load_for_display(path, max_steps=max(2, window), tail=window)
    return data, sampling.total_steps


class _Reader:
    """Reads the window, retrying while the writer is still creating the store: a file that exists but has no
    schema yet, or a read that fails while the writer holds a lock, is retried until ``patience`` seconds have
    passed without one good read."""

    def __init__(self, path: str, window: int, patience: float) -> None:
        self.path, self.window, self.patience = path, window, patience
        self.last_good = time.monotonic()

    def read(self) -> tuple[RunData, int]:
        while True:
            try:
                out = _read(self.path, self.window)
                self.last_good = time.monotonic()
                return out
            except (SchemaVersionError, DamagedStoreError, UnreadableWalError):
                raise
            except StoreError:
                # a file that is not a run store and never will be (an HTML report, a foreign database, a
                # newer schema) is an error at once, not after --wait seconds of silent retries
                if time.monotonic() - self.last_good > self.patience or never_a_store(self.path):
                    raise
                time.sleep(0.2)


def _wait_for(path: str, console: Console, timeout: float) -> None:
    t0 = time.monotonic()
    if not Path(path).exists():
        console.print(Text(f"waiting for {path} to appear ..."))
    while not Path(path).exists():
        if time.monotonic() - t0 > timeout:
            raise StoreError(f"run store {path!r} did not appear within {timeout:g} s; start the training with "
                             "gd.watch(store=...) first, or check the path")
        time.sleep(0.2)


def run_live(path: str, *, interval: float = REFRESH_S, window: int = WINDOW, once: bool = False,
             console: Console | None = None, wait: float = WAIT_FOR_FILE_S, max_frames: int | None = None,
             stale_after: float = STALE_AFTER_S, exit_when_stale: bool = False) -> str:
    """Show the live view until the run ends (or Ctrl-C, or ``once``). Returns why it stopped:
    ``"finished"``/``"failed"`` (the run's status), ``"interrupted"``, ``"once"``, ``"frames"`` or ``"stale"``.

    Args:
        path: the run store being written.
        interval: seconds between refreshes.
        window: recorded steps per sparkline.
        once: draw one frame and return.
        console: where to draw.
        wait: seconds to wait for the file to appear (and for a readable store in it).
        max_frames: stop after this many frames (for tests).
        stale_after: seconds without a new recorded step, while the status is ``running``, after which the
            view says the writer may have stopped (:data:`STALE_AFTER_S`).
        exit_when_stale: then also stop (return ``"stale"``) instead of waiting for Ctrl-C.

    Raises:
        StoreError: the file never appeared or is not a graddoctor store.
    """
    console = console or Console(highlight=False)
    path = str(path)
    _wait_for(path, console, wait)
    state = LiveState(path=path)
    reader = _Reader(path, window, max(wait, 2 * interval))
    stale = (stale_after, exit_when_stale)
    if once or not console.is_terminal:
        return _plain_loop(reader, state, console, interval, once, max_frames, stale)
    try:
        with Live(console=console, auto_refresh=False, transient=False) as live:
            while True:
                data, total = reader.read()
                status = data.meta.get("status") or "running"
                now = time.monotonic()
                is_stale = check_stale(state, status, total, now, *stale)
                _refresh_findings(data, state, now)
                live.update(render(data, state, total, console.width), refresh=True)
                state.frames += 1
                if status != "running":
                    return str(status)
                if is_stale and exit_when_stale:
                    return "stale"
                if max_frames is not None and state.frames >= max_frames:
                    return "frames"
                time.sleep(interval)
    except KeyboardInterrupt:
        console.print("stopped (Ctrl-C); the run goes on")
        return "interrupted"


def _plain_loop(reader: _Reader, state: LiveState, console: Console, interval: float, once: bool,
                max_frames: int | None, stale: tuple[float, bool]) -> str:
    """Without a terminal (piped, CI): the full view once, then one status line per refresh with new steps,
    each finding that the view has not printed yet (the same severity, kind and place printed once, whatever
    step the window's diagnosis dates it to; the window is diagnosed as in the terminal view, and once
    more when the run ends: findings used to be printed from the first frame only, so a CI log never showed a
    problem that began later), and the stale-writer notice once each time the steps stop coming. A first view
    drawn before any step was stored is drawn again, in full, when the first steps arrive."""
    printed: set[str] = set()

    def new_findings(final: bool) -> None:
        if final:
            state.last_diagnosis = 0.0  # the run ended: diagnose what it recorded last, however recent the last
        _refresh_findings(data, state, time.monotonic())
        for f in state.findings[:MAX_FINDINGS]:
            if finding_key(f) not in printed:
                printed.add(finding_key(f))
                console.print(Text.assemble("finding: ", finding_line(f)))

    try:
        data, total = reader.read()
        check_stale(state, data.meta.get("status") or "running", total, time.monotonic(), *stale)
        _refresh_findings(data, state, time.monotonic())
        console.print(render(data, state, total, console.width, waiting=not once))
        printed.update(finding_key(f) for f in state.findings[:MAX_FINDINGS])
        state.frames = 1
        state.last_step = int(data.steps[-1]) if data.n_steps else None  # the view above showed it
        # A view started before the writer's first flush printed "no step recorded yet" and then status lines
        # only, so the log never showed a layer's signal: the full view is printed once more with the first steps.
        layers_shown = data.n_steps > 0
        while not once:
            status = data.meta.get("status") or "running"
            if status != "running":
                return str(status)
            if max_frames is not None and state.frames >= max_frames:
                return "frames"
            time.sleep(interval)
            data, total = reader.read()
            state.frames += 1
            shown = state.notice
            if check_stale(state, data.meta.get("status") or "running", total, time.monotonic(), *stale):
                if not shown:
                    console.print(state.notice)
                if stale[1]:
                    return "stale"
            last = int(data.steps[-1]) if data.n_steps else None
            if not layers_shown and data.n_steps:
                _refresh_findings(data, state, time.monotonic())
                console.print(render(data, state, total, console.width, waiting=True))
                printed.update(finding_key(f) for f in state.findings[:MAX_FINDINGS])
                layers_shown, state.last_step = True, last
            elif last != state.last_step:
                rate = steps_per_second(data)
                # the terminal view's NaN/Inf warning too: a CI log showed a run gone NaN as a healthy one
                console.print(Text(f"step {last}  ·  {recorded(total)}  ·  "
                                   f"{fmt_num(rate) if rate is not None else '-'} steps/s  ·  status "
                                   + printable(data.meta.get("status") or "starting") + nonfinite_note_of(data)))
                state.last_step = last
            new_findings(final=(data.meta.get("status") or "running") != "running")
        return "once"
    except KeyboardInterrupt:
        console.print("stopped (Ctrl-C); the run goes on")
        return "interrupted"
