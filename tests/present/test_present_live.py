"""The live view against a run being written by another process, read through a pseudo-terminal."""
from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from present_fixtures import write_store

from graddoctor.present.live import LiveState, render, sparkline
from graddoctor.present.sampling import load_for_display

#: Generous limit for a whole subprocess exchange on a loaded 2-core CI machine (not a timing assertion).
DEADLINE_S = 180
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

WRITER = """
import sys, time, torch, graddoctor as gd
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(32, 4), torch.randn(32, 1)
with gd.watch(model, opt, store=sys.argv[1], flush_every=5) as run:
    for step in range(int(sys.argv[2])):
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step(); run.log_loss(loss)
        time.sleep(0.05)
"""


def _spawn_reader(args: list[str], cwd: Path) -> tuple[subprocess.Popen, int]:
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    # SIGINT back to its default: a test run started from a background job of a non-interactive shell
    # (`bash -c '... &'`) hands its children SIGINT ignored, and Python then installs no KeyboardInterrupt
    # handler, so the Ctrl-C test would hang (seen in a clean-clone .ci/run started that way)
    proc = subprocess.Popen([sys.executable, "-m", "graddoctor.cli", "live", *args], cwd=cwd, stdin=slave,
                            stdout=slave, stderr=slave, env=env, close_fds=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(slave)
    return proc, master


def _read_until(proc: subprocess.Popen, master: int, done, deadline: float) -> str:
    out = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk and proc.poll() is not None:
                break
            out += chunk
        elif proc.poll() is not None:
            break
        if done(ANSI.sub("", out.decode("utf-8", "replace"))):
            break
    return ANSI.sub("", out.decode("utf-8", "replace"))


def test_live_view_shows_new_steps_of_a_running_writer(tmp_path):
    store = tmp_path / "live.sqlite"
    reader, master = _spawn_reader([store.name, "--interval", "0.3", "--wait", "120"], tmp_path)
    writer = None
    try:
        # start the writer only once the reader is up and waiting for the file
        text = _read_until(reader, master, lambda t: "waiting for" in t, time.monotonic() + DEADLINE_S)
        assert "waiting for" in text, text[-2000:]
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store), "120"], cwd=tmp_path)
        text += _read_until(reader, master, lambda t: False, time.monotonic() + DEADLINE_S)
        assert writer.wait(timeout=DEADLINE_S) == 0
        assert reader.wait(timeout=30) == 0, text[-2000:]  # exits by itself when the run ends
    finally:
        for p in (reader, writer):
            if p is not None and p.poll() is None:
                p.kill()
        os.close(master)
    seen = sorted({int(s) for s in re.findall(r"step (\d+)  ·", text)})
    assert len(seen) >= 3, f"expected several refreshes with new steps, saw {seen}: {text[-2000:]}"
    assert seen[-1] == 119 and "status finished" in text
    assert "‖∂L/∂out‖" in text and "steps/s" in text and any(c in text for c in "▁▂▃▄▅▆▇█")


def test_ctrl_c_exits_cleanly(tmp_path):
    write_store(tmp_path / "stale.sqlite", n_steps=20, status="running")
    reader, master = _spawn_reader(["stale.sqlite", "--interval", "0.2"], tmp_path)
    try:
        text = _read_until(reader, master, lambda t: "Ctrl-C to quit" in t, time.monotonic() + DEADLINE_S)
        assert "status running" in text
        reader.send_signal(signal.SIGINT)
        text += _read_until(reader, master, lambda t: False, time.monotonic() + 60)
        assert reader.wait(timeout=30) == 0
    finally:
        if reader.poll() is None:
            reader.kill()
        os.close(master)
    assert "stopped (Ctrl-C)" in text and "Traceback" not in text


def test_sparkline_scale_and_missing_values():
    assert sparkline(np.array([1e-6, 1e-3, 1.0]), -6.0, 0.0) == "▁▅█"
    assert sparkline(np.array([np.nan, 0.0, np.inf]), -1.0, 1.0) == " 0!"


def test_render_uses_the_window(tmp_path):
    write_store(tmp_path / "r.sqlite", n_steps=50, n_layers=45)
    data, sampling = load_for_display(tmp_path / "r.sqlite", max_steps=10, tail=10)
    from rich.console import Console
    console = Console(width=100, record=True, file=open(os.devnull, "w"))
    console.print(render(data, LiveState(path="r.sqlite"), sampling.total_steps, 100))
    text = console.export_text()
    assert "step 49" in text and "50 steps recorded" in text and "40 of 45 layers shown" in text


def test_a_store_that_is_not_ready_yet_is_retried(tmp_path):
    """Regression: the reader used to crash when it opened the file before the writer had created the schema."""
    import io
    import threading

    from rich.console import Console

    from graddoctor.present.live import run_live

    path = tmp_path / "run.sqlite"
    path.write_bytes(b"")  # exists, but no store in it yet

    def create() -> None:
        time.sleep(0.6)
        write_store(tmp_path / "tmp.sqlite", n_steps=5)
        os.replace(tmp_path / "tmp.sqlite", path)

    t = threading.Thread(target=create)
    t.start()
    buf = io.StringIO()
    why = run_live(str(path), once=True, wait=60, console=Console(file=buf, width=100))
    t.join()
    assert why == "once" and "step 4" in buf.getvalue()


def test_piped_output_prints_the_view_once_then_status_lines(tmp_path):
    import io

    from rich.console import Console

    from graddoctor.present.live import run_live

    write_store(tmp_path / "run.sqlite", n_steps=8, status="running")
    buf = io.StringIO()
    why = run_live(str(tmp_path / "run.sqlite"), interval=0.05, console=Console(file=buf, width=100),
                   max_frames=3)
    out = buf.getvalue()
    assert why == "frames" and out.count("graddoctor live") == 1 and "step 7  ·" in out
    assert "\x1b[" not in out  # no cursor movement when not a terminal
