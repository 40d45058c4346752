"""Regression (QA): `graddoctor live` on a store whose writer had been killed waited until Ctrl-C with no
notice: a killed (or hard-crashed) writer never sets its run's status, which stays "running", and the view only
ended on a status change. Now, when no new step has arrived for --stale-after seconds (STALE_AFTER_S by
default), the view says the writer may have stopped and how to quit, and with --exit-when-stale it exits by
itself (exit code 3)."""
import io
import subprocess
import sys
import time

import pytest
import torch
from click.testing import CliRunner
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.cli import main
from graddoctor.present.live import run_live

WRITER = """
import sys, time, torch, graddoctor as gd
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(16, 4), torch.randn(16, 1)
with gd.watch(model, opt, store=sys.argv[1], flush_every=2) as run:
    for step in range(100000):
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step(); run.log_loss(loss)
        time.sleep(0.05)
"""


@pytest.fixture(scope="module")
def killed_store(tmp_path_factory) -> str:
    """A store a writer subprocess was SIGKILLed in the middle of: status 'running', steps recorded."""
    tmp_path = tmp_path_factory.mktemp("killed")
    store = str(tmp_path / "killed.sqlite")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, store], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and writer.poll() is None:
            try:
                if gd.load_run(store).n_steps >= 4:
                    break
            except Exception:  # not created yet
                pass
            time.sleep(0.2)
    finally:
        writer.kill()
        writer.wait()
    data = gd.load_run(store)
    assert data.n_steps >= 4 and data.meta.get("status") == "running"
    return store


def test_live_on_a_killed_writer_says_so_and_exits_when_asked(killed_store):
    store = killed_store
    t0 = time.monotonic()
    r = CliRunner().invoke(main, ["live", store, "--interval", "0.1", "--stale-after", "1", "--exit-when-stale"])
    assert r.exit_code == 3, r.output
    assert time.monotonic() - t0 < 60
    text = " ".join(r.output.split())
    assert "the writer may have stopped (killed or crashed" in text, text
    assert "exiting (--exit-when-stale)" in text
    assert "--stale-after" in CliRunner().invoke(main, ["live", "--help"]).output


def test_without_the_exit_option_the_notice_says_how_to_quit_and_the_view_goes_on(killed_store):
    store = killed_store
    buf = io.StringIO()
    why = run_live(store, interval=0.1, console=Console(file=buf, width=120), stale_after=0.5, max_frames=12)
    out = " ".join(buf.getvalue().split())
    assert why == "frames"  # it did not end by itself
    assert out.count("the writer may have stopped") == 1, out  # said once, not every refresh
    assert "Ctrl-C to quit" in out and "--exit-when-stale" in out
    from graddoctor.present.live import STALE_AFTER_S

    assert STALE_AFTER_S > 0


def test_notice_appears_only_after_the_threshold_and_clears_on_a_new_step():
    from graddoctor.present.live import LiveState, check_stale, render

    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt) as run:
        for _ in range(3):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    data = run.data
    state = LiveState(path="run.sqlite")
    assert not check_stale(state, "running", 10, now=100.0, stale_after=5, exit_when_stale=False)
    assert not check_stale(state, "running", 10, now=104.0, stale_after=5, exit_when_stale=False)
    assert check_stale(state, "running", 10, now=105.5, stale_after=5, exit_when_stale=False)
    buf = io.StringIO()
    Console(file=buf, width=200).print(render(data, state, 10, 200))  # the terminal view shows it too
    assert "no new step for 6 s" in buf.getvalue()
    assert not check_stale(state, "running", 12, now=106.0, stale_after=5, exit_when_stale=False)  # a new step
    assert state.notice == ""
    assert not check_stale(state, "finished", 12, now=200.0, stale_after=5, exit_when_stale=False)
