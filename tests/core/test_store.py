"""The SQLite run store: round trip, concurrent reads, crashes, bad paths and files."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.store.sqlite import SCHEMA_VERSION


def _run(path: Path, steps: int = 6, **kw) -> gd.Monitor:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = torch.randn(32, 8), torch.randint(0, 2, (32,))
    with gd.watch(model, opt, store=path, meta={"experiment": "unit"}, **kw) as run:
        for _ in range(steps):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run


def test_round_trip_equals_memory(tmp_path: Path) -> None:
    _run(tmp_path / "run.sqlite", flush_every=4)
    in_mem = _run(None)  # type: ignore[arg-type]
    a, b = gd.load_run(tmp_path / "run.sqlite"), in_mem.data
    assert a.steps.tolist() == b.steps.tolist() == list(range(6))
    assert a.layer_names == b.layer_names
    for name in gd.LAYER_STATS:
        np.testing.assert_allclose(a.stat(name), b.stat(name), rtol=1e-6, equal_nan=True, err_msg=name)
    for name in ("loss", "total_grad_norm", "nonfinite_grads"):
        np.testing.assert_allclose(a.step_stats[name], b.step_stats[name], rtol=1e-6, equal_nan=True)
    assert a.meta["status"] == "finished"
    assert a.meta["user"] == {"experiment": "unit"}
    assert a.meta["optimizer"]["class"] == "SGD"
    assert a.meta["optimizer"]["param_groups"][0]["lr"] == 0.5
    assert a.meta["torch_version"] == torch.__version__
    assert [layer.activation for layer in a.layers] == ["sigmoid", "sigmoid", None]
    assert a.layers[0].info["params"] == {"weight": [16, 8], "bias": [16]}


def test_store_is_wal_sqlite_with_schema_version(tmp_path: Path) -> None:
    _run(tmp_path / "run.sqlite")
    con = sqlite3.connect(tmp_path / "run.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    blobs = con.execute("SELECT data FROM layer_stats LIMIT 5").fetchall()
    assert all(not b[0].startswith(b"\x80") for b in blobs)  # raw float32, never a pickle


def test_existing_store_needs_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _run(path)
    with pytest.raises(gd.StoreError, match="already exists"):
        _run(path)
    _run(path, overwrite=True, steps=2)
    assert gd.load_run(path).n_steps == 2


@pytest.mark.parametrize("problem", ["missing_dir", "readonly_dir", "not_a_store", "sqlite_not_ours", "newer"])
def test_bad_store_paths_give_clear_errors(tmp_path: Path, problem: str) -> None:
    model = nn.Linear(2, 2)
    if problem == "missing_dir":
        with pytest.raises(gd.StoreError, match="does not exist"):
            gd.watch(model, store=tmp_path / "nope" / "run.sqlite")
    elif problem == "readonly_dir":
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            if os.access(ro, os.W_OK):  # running as root: permissions are not enforced
                pytest.skip("root ignores directory permissions")
            with pytest.raises(gd.StoreError, match="not writable"):
                gd.watch(model, store=ro / "run.sqlite")
        finally:
            ro.chmod(0o700)
    elif problem == "not_a_store":
        p = tmp_path / "junk.sqlite"
        p.write_bytes(b"this is not a database at all" * 100)
        with pytest.raises(gd.StoreError, match="not a graddoctor run store"):
            gd.load_run(p)
        with pytest.raises(gd.StoreError, match="not a graddoctor run store"):
            gd.watch(model, store=p, overwrite=True)
    elif problem == "sqlite_not_ours":
        p = tmp_path / "other.sqlite"
        sqlite3.connect(p).execute("CREATE TABLE t(x)").connection.commit()
        with pytest.raises(gd.StoreError, match="not a graddoctor run store"):
            gd.load_run(p)
    else:
        p = tmp_path / "new.sqlite"
        _run(p)
        con = sqlite3.connect(p)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        con.commit()
        con.close()
        with pytest.raises(gd.SchemaVersionError, match="newer"):
            gd.load_run(p)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(gd.StoreError, match="does not exist"):
        gd.load_run(tmp_path / "absent.sqlite")


def test_reader_while_writing_sees_whole_steps(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=path, flush_every=2):
        for i in range(7):
            model(torch.randn(4, 8)).sum().backward()
            opt.step()
            opt.zero_grad()
            d = gd.load_run(path)
            assert d.meta["status"] == "running"
            for name in gd.LAYER_STATS:
                assert d.stat(name).shape == (2, d.n_steps)
            assert np.isfinite(d.stat("weight_grad_norm")).all()
            assert d.n_steps <= i + 1
    assert gd.load_run(path).n_steps == 7


CHILD = textwrap.dedent("""
    import os, sys, torch
    from torch import nn
    import graddoctor as gd
    path, marker = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = gd.watch(model, opt, store=path, flush_every=3).start()
    step = 0
    while True:
        model(torch.randn(4, 8)).sum().backward()
        opt.step(); opt.zero_grad(); step += 1
        if step % 3 == 0:
            run.flush()
            with open(marker + ".tmp", "w") as f:  # atomic: the parent never reads a half-written file
                f.write(str(step))
            os.replace(marker + ".tmp", marker)
""")


def test_kill_9_mid_run_keeps_every_flushed_step(tmp_path: Path) -> None:
    path, marker = tmp_path / "crash.sqlite", tmp_path / "flushed.txt"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(marker)])
    flushed = 0  # the last step the child reported flushed before the kill: a lower bound on what is stored
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            text = marker.read_text().strip() if marker.exists() else ""
            if text:
                flushed = int(text)
            if flushed >= 9:
                break
            time.sleep(0.05)
        else:
            pytest.fail("child never flushed")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    data = gd.load_run(path)
    assert data.meta["status"] == "running"  # it never finished
    assert data.n_steps >= flushed
    assert data.steps.tolist() == list(range(data.n_steps))
    assert np.isfinite(data.stat("weight_grad_norm")).all()


def test_append_findings_to_a_finished_store(tmp_path: Path) -> None:
    from graddoctor.store.sqlite import append_findings

    path = tmp_path / "run.sqlite"
    _run(path, steps=2)
    f = gd.Finding(kind="vanishing_gradient", severity="warning", layers=["0"], axis="depth",
                   causes=["saturating_activation"], remedies=["use_relu_family"])
    append_findings(path, [f.to_dict()], source="diagnose")
    stored = gd.load_run(path).findings
    assert [(d["kind"], d["source"]) for d in stored] == [("vanishing_gradient", "diagnose")]
    with pytest.raises(gd.StoreError, match="does not exist"):
        append_findings(tmp_path / "nope.sqlite", [])
