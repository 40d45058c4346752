"""Faults: nothing recorded is lost, nothing half-written is ever visible, and no fault inside graddoctor
stops the user's training.

- kill -9 at random points of a run (a few here; >= 50 with random timing in ``make test-faults``), and once
  deterministically inside a write transaction: the store opens and holds every step whose flush returned.
- Disk full mid-run (RLIMIT_FSIZE in a child process, a tiny tmpfs where mounting is allowed, and an
  injected "database or disk is full"): training continues, one warning, records kept in memory and
  written when space returns, no partial record visible.
- A reader running concurrently with the writer never sees a torn step.
- Truncated, corrupted, foreign or newer-schema files: a StoreError naming the problem, no SQLite traceback.
- An exception inside any graddoctor hook is contained: the step completes, one warning with the cause.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd
from graddoctor.probe import monitor as gd_monitor
from graddoctor.store.sqlite import SQLiteStore

from .test_bad_input import X, Y, assert_identical, mlp, same, train

CHILD = Path(__file__).with_name("fault_child.py")
#: Statistics that every complete step of the child's model has for every layer.
CORE = ("weight_grad_norm", "bias_grad_norm", "out_mean", "signal_norm")  # recorded on every step (weight_norm: detail steps only)


def start_child(mode: str, store: Path, side: Path, steps: int = 100_000, flush_every: int = 2):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "default"}
    return subprocess.Popen([sys.executable, str(CHILD), mode, str(store), str(side), str(steps), str(flush_every)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def side_lines(side: Path) -> list[str]:
    """Complete lines only: a kill can land between the child's open() and its write, never mid-line, but a
    line without its newline is dropped anyway rather than parsed half-written."""
    if not side.exists():
        return []
    text = side.read_text()
    return text[: text.rfind("\n") + 1].splitlines()


def wait_for(side: Path, marker: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if any(line.startswith(marker) for line in side_lines(side)):
            return
        if proc.poll() is not None:
            raise AssertionError(f"child exited early ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"child never reached {marker!r}")


def check_store(store: Path, side: Path) -> gd.RunData:
    """The store opens, holds every flushed step, and every step it holds is complete."""
    data = gd.load_run(store)
    lines = side_lines(side)
    flushed = [int(line.split()[1]) for line in lines if line.startswith("FLUSHED")]
    trained = {int(p[1]): float(p[2]) for p in (line.split() for line in lines if line.startswith("TRAINED"))}
    steps = data.steps.tolist()
    assert steps == list(range(len(steps))), f"steps not contiguous from 0: {steps}"
    if flushed:
        assert max(flushed) < len(steps), f"flushed step {max(flushed)} missing; store holds {steps}"
    for name in CORE:
        arr = data.stat(name)
        assert arr.shape == (len(data.layers), len(steps))
        assert np.isfinite(arr).all(), f"torn step: {name} incomplete in {np.argwhere(~np.isfinite(arr))[:5]}"
    con = sqlite3.connect(Path(store).resolve().as_uri() + "?mode=ro", uri=True)
    try:  # every step the store holds has a row for every statistic: nothing half-written
        n_stats = con.execute("SELECT COUNT(DISTINCT stat) FROM layer_stats").fetchone()[0]
        rows = dict(con.execute("SELECT step, COUNT(*) FROM layer_stats GROUP BY step").fetchall())
    finally:
        con.close()
    assert all(rows.get(s) == n_stats for s in steps), f"torn step in the store: {rows}"
    loss = data.step_stats["loss"]
    for i, s in enumerate(steps):
        if s in trained:  # the loss the child saw, rounded to float32
            assert loss[i] == np.float32(trained[s])
        else:
            assert np.isfinite(loss[i])
    return data


# ---------------------------------------------------------------------------------------------- kill -9
def kill_at_random(tmp: Path, rng: random.Random, i: int) -> int:
    store, side = tmp / f"kill{i}.sqlite", tmp / f"kill{i}.side"
    proc = start_child("run", store, side, flush_every=rng.choice([1, 2, 3]))
    try:
        wait_for(side, "STARTED", proc)
        time.sleep(rng.uniform(0.0, 1.5))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    data = check_store(store, side)
    return data.n_steps


def test_kill_9_at_random_points(tmp_path):
    rng = random.Random(int(os.environ.get("GD_FAULT_SEED", "1")))
    for i in range(3):
        kill_at_random(tmp_path, rng, i)


@pytest.mark.slow
def test_kill_9_loop(tmp_path):
    """>= 50 kills at random times (run by make test-faults); the seed is printed for reproduction."""
    seed = int(os.environ.get("GD_FAULT_SEED", str(int(time.time()))))
    n = int(os.environ.get("GD_FAULT_KILLS", "50"))
    print(f"kill -9 loop: seed {seed}, {n} kills")
    rng = random.Random(seed)
    held = [kill_at_random(tmp_path, rng, i) for i in range(n)]
    print(f"steps held after each kill: {held}")


def test_kill_9_inside_a_write_transaction(tmp_path):
    store, side = tmp_path / "tx.sqlite", tmp_path / "tx.side"
    proc = start_child("hang-in-tx", store, side, flush_every=2)
    try:
        wait_for(side, "IN-TX", proc)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert Path(str(store) + "-wal").stat().st_size > 0  # the uncommitted rows are in the WAL
    data = check_store(store, side)
    flushed = [int(line.split()[1]) for line in side_lines(side) if line.startswith("FLUSHED")]
    trained = [line for line in side_lines(side) if line.startswith("TRAINED")]
    assert data.n_steps == max(flushed) + 1 < len(trained)  # exactly the committed flushes, not the torn one
    assert data.meta["status"] == "running"


# ---------------------------------------------------------------------------------------------- disk full
def test_disk_full_mid_run_then_space_returns(tmp_path):
    """RLIMIT_FSIZE stops the store's files from growing for 8 steps: a real write failure inside SQLite."""
    store, side = tmp_path / "full.sqlite", tmp_path / "full.side"
    proc = start_child("disk-full", store, side, steps=20)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    lines = side_lines(side)
    assert lines[-1] == "DONE" and "ERROR None" in lines  # training ran to the end, no hook failed
    warned = [line for line in lines if line.startswith("WARNING")]
    assert len(warned) == 1 and "could not write to the run store" in warned[0], warned
    data = check_store(store, side)
    assert data.n_steps == 20  # the steps kept in memory while the disk was full were written later
    assert data.meta["status"] == "finished"


def tiny_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def test_disk_full_on_a_tiny_tmpfs(tmp_path):
    mnt = tmp_path / "tiny"
    if not tiny_tmpfs(mnt, "384k"):
        pytest.skip("cannot mount a tmpfs here (needs root); RLIMIT_FSIZE and injected faults cover this")
    try:
        store = mnt / "run.sqlite"
        model = nn.Sequential(*[nn.Linear(64, 64) for _ in range(12)])
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.randn(8, 64)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with gd.watch(model, opt, store=store, flush_every=1) as run:
                for _ in range(3000):
                    opt.zero_grad()
                    loss = model(x).pow(2).mean()
                    loss.backward()
                    opt.step()
                    run.step(loss=loss)
                    if run._write_failed:
                        committed = gd.load_run(store)
                        break
        assert run.error is None
        assert run._write_failed, "the tmpfs never filled up: make it smaller"
        msgs = [str(w.message) for w in caught if issubclass(w.category, gd.GradDoctorWarning)]
        assert len(msgs) == 1 and "disk is full" in msgs[0]
        final = gd.load_run(store)
        assert final.steps.tolist() == committed.steps.tolist() == list(range(committed.n_steps))
        for name in CORE:
            assert np.isfinite(final.stat(name)).all()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


class FullDisk:
    """Makes every store transaction fail with SQLite's disk-full error while ``on`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on = False
        real = SQLiteStore._tx

        def tx(store, fn):
            if self.on:
                raise sqlite3.OperationalError("database or disk is full")
            return real(store, fn)

        monkeypatch.setattr(SQLiteStore, "_tx", tx)


def watched_steps(model, opt, run, n, hook=None):
    for i in range(n):
        if hook:
            hook(i)
        opt.zero_grad()
        loss = F.mse_loss(model(X), Y)
        loss.backward()
        opt.step()
        run.step(loss=loss)


def test_injected_disk_full_keeps_records_in_memory_and_shows_no_partial_step(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch)
    store = tmp_path / "run.sqlite"
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen_while_full = []

    def hook(i):
        disk.on = 4 <= i < 12
        if disk.on:
            seen_while_full.append(gd.load_run(store).steps.tolist())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gd.watch(model, opt, store=store, flush_every=2) as run:
            watched_steps(model, opt, run, 20, hook)
    msgs = [str(w.message) for w in caught if issubclass(w.category, gd.GradDoctorWarning)]
    assert len(msgs) == 1 and "database or disk is full" in msgs[0] and "kept in memory" in msgs[0]
    assert run.error is None
    committed = seen_while_full[-1]
    assert committed == list(range(len(committed))) and len(committed) <= 5  # nothing past the failure point
    assert all(s == committed for s in seen_while_full[2:])
    data = gd.load_run(store)
    assert data.steps.tolist() == list(range(20))
    assert np.isfinite(data.stat("weight_grad_norm")).all() and np.isfinite(data.step_stats["loss"]).all()


def test_disk_full_until_the_end_warns_once_and_leaves_a_readable_store(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch)
    store = tmp_path / "run.sqlite"
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gd.watch(model, opt, store=store, flush_every=2) as run:
            watched_steps(model, opt, run, 10, lambda i: setattr(disk, "on", i >= 4))
    msgs = [str(w.message) for w in caught if issubclass(w.category, gd.GradDoctorWarning)]
    assert len(msgs) == 1, msgs
    data = gd.load_run(store)
    assert data.steps.tolist() == list(range(data.n_steps)) and 1 <= data.n_steps <= 5
    # the steps that could not be written are still there for the program that recorded them
    mem = run.data
    assert mem.steps.tolist() == list(range(10))
    assert np.isfinite(mem.stat("weight_grad_norm")).all() and np.isfinite(mem.step_stats["loss"]).all()
    assert mem.stat("signal_norm").shape == (data.stat("signal_norm").shape[0], 10)
    run.diagnose()  # and the diagnosis reads them


def test_disk_full_from_the_first_flush_keeps_every_step_in_run_data(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch)
    store = tmp_path / "run.sqlite"
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with gd.watch(model, opt, store=store, flush_every=2) as run:
            watched_steps(model, opt, run, 6, lambda i: setattr(disk, "on", True))
    assert gd.load_run(store).n_steps == 0
    mem = run.data
    assert mem.steps.tolist() == list(range(6)) and np.isfinite(mem.stat("weight_grad_norm")).all()
    assert [layer.name for layer in mem.layers] == [layer.name for layer in run.map.layers]


def test_training_identical_while_the_disk_is_full(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch)
    real_step = gd_monitor.Monitor.step

    def step(run, loss=None):  # the disk fills up right after the run has started
        disk.on = True
        return real_step(run, loss)

    monkeypatch.setattr(gd_monitor.Monitor, "step", step)
    watched = train(mlp, X, Y, F.mse_loss, watch=True, steps=5, store=tmp_path / "r.sqlite", flush_every=1)
    plain = train(mlp, X, Y, F.mse_loss, watch=False, steps=5)
    assert len(watched["warnings"]) == 1 and "could not write" in str(watched["warnings"][0].message)
    for a, b in zip(plain["model"].parameters(), watched["model"].parameters()):
        assert same(a.detach(), b.detach())


def test_unwritable_directory_is_refused_before_training(tmp_path):
    with pytest.raises(gd.StoreError, match="does not exist"):
        gd.watch(mlp(), store=tmp_path / "missing" / "run.sqlite")
    with pytest.raises(gd.StoreError, match="directory"):
        gd.watch(mlp(), store=tmp_path)


# ---------------------------------------------------------------------------------------------- readers
def _live_window(store: Path) -> gd.RunData:
    from graddoctor.present.sampling import load_for_display

    return load_for_display(store, max_steps=20, tail=20)[0]


def _report_view(store: Path) -> gd.RunData:
    from graddoctor.present.sampling import load_for_display

    return load_for_display(store, max_steps=7)[0]


#: The readers of a store being written: load_run, the live view's window, the report's downsampled view.
READERS = [gd.load_run, _live_window, _report_view]

def test_concurrent_reader_never_sees_a_torn_step(tmp_path):
    store, side = tmp_path / "live.sqlite", tmp_path / "live.side"
    proc = start_child("run", store, side, steps=150, flush_every=1)
    reads, last = 0, -1
    try:
        wait_for(side, "STARTED", proc)
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < 60 and reads < 150:
            reader = READERS[reads % len(READERS)]
            try:
                data = reader(store)
            except gd.StoreError as e:  # only legitimate while the writer creates the file
                assert reads == 0, f"reader failed mid-run: {e}"
                time.sleep(0.05)
                continue
            steps = data.steps.tolist()
            if not steps and last <= 0:  # the writer has not committed its first step yet (a slow, loaded machine)
                time.sleep(0.01)
                continue
            if reader is READERS[0]:
                assert steps == list(range(len(steps)))
            elif steps:  # the live view's window (the last steps) or the report's downsampled view
                assert steps == sorted(set(steps))
            if reader is READERS[0]:
                assert len(steps) >= last  # committed steps never disappear
                last = len(steps)
            for name in CORE:
                assert np.isfinite(data.stat(name)).all(), f"torn step seen by a concurrent reader ({name})"
            assert np.isfinite(data.step_stats["loss"]).all()
            reads += 1
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
    assert reads >= 5 and last >= 2, (reads, last)


# ---------------------------------------------------------------------------------------------- damaged files
@pytest.fixture(scope="module")
def good_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good.sqlite"
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=path, flush_every=2) as run:
        watched_steps(model, opt, run, 8)
    return path


def copy_and(good: Path, tmp: Path, edit=None, data: bytes | None = None) -> Path:
    p = tmp / "bad.sqlite"
    if data is not None:
        p.write_bytes(data)
    else:
        shutil.copy(good, p)
    if edit:
        con = sqlite3.connect(p)
        con.executescript(edit)
        con.commit()
        con.close()
    return p


def assert_clear_store_error(path: Path, match: str, cls: type = gd.StoreError) -> None:
    with pytest.raises(cls, match=match) as info:
        gd.load_run(path)
    err = info.value
    assert str(path) in str(err) or repr(str(path)) in str(err)
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)  # no SQLite chain


def test_empty_file(good_store, tmp_path):
    assert_clear_store_error(copy_and(good_store, tmp_path, data=b""), "empty")


def test_text_file(good_store, tmp_path):
    assert_clear_store_error(copy_and(good_store, tmp_path, data=b"step,loss\n1,2\n" * 100),
                             "not a graddoctor run store")


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(good_store, tmp_path, fraction):
    blob = good_store.read_bytes()
    p = copy_and(good_store, tmp_path, data=blob[: max(1, int(len(blob) * fraction))])
    assert_clear_store_error(p, "not a graddoctor run store|damaged|empty")


def test_foreign_sqlite_database(tmp_path):
    p = tmp_path / "other.sqlite"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE t(a)")
    con.commit()
    con.close()
    assert_clear_store_error(p, "not a graddoctor run store")
    with pytest.raises(gd.StoreError, match="not a graddoctor run store"):
        gd.watch(mlp(), store=p, overwrite=True)  # never overwrites a file that is not a run store
    assert p.stat().st_size > 0


def test_missing_file_and_directory(tmp_path):
    assert_clear_store_error(tmp_path / "nope.sqlite", "does not exist")
    assert_clear_store_error(tmp_path, "is a directory")


def test_newer_schema_version(good_store, tmp_path):
    p = copy_and(good_store, tmp_path, edit="PRAGMA user_version = 99;")
    assert_clear_store_error(p, r"schema version 99.*upgrade graddoctor", gd.SchemaVersionError)


def test_newer_schema_is_not_overwritten(good_store, tmp_path):
    p = copy_and(good_store, tmp_path, edit="PRAGMA user_version = 99;")
    with pytest.raises(gd.SchemaVersionError):
        gd.watch(mlp(), store=p, overwrite=True)
    assert p.exists()


@pytest.mark.parametrize("edit", [
    "UPDATE meta SET value = '{not json' WHERE key = 'status';",
    "UPDATE layer_stats SET data = x'010203';",
    "UPDATE layers SET info = 'null';",
    "DROP TABLE steps;",
])
def test_damaged_records(good_store, tmp_path, edit):
    p = copy_and(good_store, tmp_path, edit=edit)
    assert_clear_store_error(p, "damaged")
    for reader in READERS[1:]:  # the live view and the report read the store their own way
        with pytest.raises(gd.StoreError, match="damaged") as info:
            reader(p)
        assert info.value.__cause__ is None


def test_random_byte_corruption_raises_only_store_error(good_store, tmp_path):
    """Flip random bytes: load_run either reads the file or raises StoreError; never anything else."""
    blob = good_store.read_bytes()
    rng = random.Random(0)
    outcomes = {"read": 0, "refused": 0}
    for _ in range(60):
        b = bytearray(blob)
        for _ in range(rng.choice([1, 8, 64])):
            b[rng.randrange(len(b))] = rng.randrange(256)
        p = copy_and(good_store, tmp_path, data=bytes(b))
        try:
            gd.load_run(p)
            outcomes["read"] += 1
        except gd.StoreError as e:
            assert e.__cause__ is None
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


def test_cli_reports_a_damaged_store_without_traceback(good_store, tmp_path):
    from click.testing import CliRunner

    from graddoctor.cli import main

    p = copy_and(good_store, tmp_path, data=b"garbage" * 1000)
    ran = 0
    for cmd in (["report", str(p), "-o", str(tmp_path / "r.html")], ["diagnose", str(p)], ["stats", str(p)]):
        if main.get_command(None, cmd[0]) is None:  # type: ignore[arg-type]
            continue
        result = CliRunner().invoke(main, cmd)
        ran += 1
        assert result.exit_code != 0
        assert "Traceback" not in result.output and "sqlite3" not in result.output, result.output
        assert "not a graddoctor run store" in result.output, result.output
        assert not isinstance(result.exception, sqlite3.Error)
    if not ran:
        pytest.skip("no store-reading CLI command exists yet")


# ---------------------------------------------------------------------------------------------- hook errors
#: Every statistics function the monitor calls from its hooks (found, not listed, so that a renamed or new one
#: is covered too), and its own norm helper.
HOOK_TARGETS = sorted(name for name, obj in vars(gd_monitor).items()
                      if callable(obj) and getattr(obj, "__module__", "").startswith("graddoctor.stats")
                      and not isinstance(obj, type)) + ["_norms"]


def test_hook_targets_found():
    assert "time_profile" in HOOK_TARGETS and len(HOOK_TARGETS) >= 4


@pytest.mark.parametrize("target", HOOK_TARGETS)
def test_exception_inside_a_hook_is_contained(monkeypatch, target):
    calls = {"n": 0}

    def boom(*args, **kwargs):
        calls["n"] += 1
        raise RuntimeError(f"injected failure in {target}")

    monkeypatch.setattr(gd_monitor, target, boom)
    # Models that reach every hook path: a float32 MLP, the same in float64 (some statistics take another
    # path for other dtypes), and an RNN (time profiles). The first one that calls ``target`` is used.
    models = [(mlp, X, Y), (lambda: mlp().double(), X.double(), Y.double()),
              (lambda: nn.Sequential(nn.RNN(4, 8), Last(), nn.Linear(8, 2)), torch.randn(5, 3, 4), torch.randn(3, 2))]
    for build, x, y in models:
        watched = train(build, x, y, F.mse_loss, watch=True, steps=4)
        if calls["n"]:
            break
    else:
        pytest.skip(f"graddoctor.probe.monitor imports {target} but none of the test models reaches it")
    plain = train(build, x, y, F.mse_loss, watch=False, steps=4)
    for a, b in zip(plain["model"].parameters(), watched["model"].parameters()):
        assert same(a.detach(), b.detach())  # the user's steps completed, unchanged
    run = watched["run"]
    assert isinstance(run.error, RuntimeError) and target in str(run.error)
    msgs = [str(w.message) for w in watched["warnings"]]
    assert len(msgs) == 1, msgs
    assert f"RuntimeError: injected failure in {target}" in msgs[0] and "unaffected" in msgs[0]
    assert calls["n"] == 1  # watching stopped at the first failure: no repeated cost or noise
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in watched["model"].modules())


class Last(nn.Module):
    def forward(self, out):
        return out[0][-1]


def test_store_failing_at_start_is_a_clear_error_before_training(tmp_path, monkeypatch):
    real = SQLiteStore._tx

    def tx(store, fn):
        store._con.execute("PRAGMA query_only = ON")  # every write now fails inside SQLite
        return real(store, fn)

    monkeypatch.setattr(SQLiteStore, "_tx", tx)
    model = mlp()
    with pytest.raises(gd.StoreError, match="cannot write to run store") as info:
        gd.watch(model, store=tmp_path / "r.sqlite").start()
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert all(not m._forward_hooks for m in model.modules())


def test_keyboard_interrupt_leaves_a_complete_store(tmp_path):
    store = tmp_path / "int.sqlite"
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(KeyboardInterrupt):
        with gd.watch(model, opt, store=store, flush_every=3) as run:
            def stop_at(i):
                if i == 7:
                    raise KeyboardInterrupt

            watched_steps(model, opt, run, 10, stop_at)
    data = gd.load_run(store)
    assert data.steps.tolist() == list(range(7)) and data.meta["status"] == "failed"


def test_identity_with_a_store_and_tiny_flushes(tmp_path):
    data = assert_identical(mlp, X, Y, F.mse_loss, steps=6, store=tmp_path / "r.sqlite", flush_every=1)
    assert gd.load_run(tmp_path / "r.sqlite").steps.tolist() == data.steps.tolist()


def test_store_turned_read_only_mid_run(tmp_path):
    """The store's connection refuses writes for a while (what a read-only remount does; chmod cannot stop
    root): one warning, training unchanged, and every step is there once writes work again."""
    store = tmp_path / "ro.sqlite"
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gd.watch(model, opt, store=store, flush_every=2) as run:
            def toggle(i):
                if i in (3, 9):
                    run.store._con.execute(f"PRAGMA query_only = {'ON' if i == 3 else 'OFF'}")
                if i == 6:
                    assert gd.load_run(store).steps.tolist() == list(range(gd.load_run(store).n_steps))

            watched_steps(model, opt, run, 14, toggle)
    msgs = [str(w.message) for w in caught if issubclass(w.category, gd.GradDoctorWarning)]
    assert len(msgs) == 1 and "readonly" in msgs[0], msgs
    data = gd.load_run(store)
    assert data.steps.tolist() == list(range(14)) and data.meta["status"] == "finished"
