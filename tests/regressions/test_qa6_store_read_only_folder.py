"""Regression: a finished run store in a folder the reader cannot write to (a colleague's results, a read-only
mount, a store owned by another user) could not be read at all: every reader (``load_run``, ``graddoctor stats``,
``diagnose``, ``report``, ``live``) said "run store ... is damaged (SQLite says: attempt to write a readonly
database); ... restore it from a copy". A store is in WAL mode, and SQLite reads one through its ``-shm`` file,
which it could not create there. Such a store is now read (opened immutable when no write-ahead log with records
lies beside it), and ``graddoctor diagnose``, which cannot save its findings there, says that the store is
read-only rather than damaged.

Root ignores permissions, so as root the reader runs as ``nobody`` (setpriv)."""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.regressions import watched_sgd
from torch import nn

#: User and group id of ``nobody``, the reader when the tests run as root.
NOBODY = 65534


@functools.lru_cache(maxsize=1)
def _nobody_can_import() -> bool:
    """Whether ``nobody`` can import graddoctor and torch from this checkout's interpreter (not when the checkout
    lies under a folder private to its owner, e.g. ``mktemp -d``'s 0700 folder)."""
    res = subprocess.run([*_nobody(), sys.executable, "-c", "import graddoctor, torch"], capture_output=True,
                         cwd="/", timeout=300)
    return res.returncode == 0


def _nobody() -> list[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot read as a user the permissions apply to")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _reader_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    if not _nobody_can_import():
        pytest.skip("running as root in a checkout that user nobody cannot read (a parent folder is private): "
                    "cannot read the store as a user the permissions apply to")
    return _nobody()


@pytest.fixture()
def read_only_store() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="gd-ro-"))  # not under pytest's tmp_path: that is private to its owner
    try:
        os.chmod(folder, 0o755)
        path = folder / "run.sqlite"
        torch.manual_seed(0)
        watched_sgd(nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2)), torch.randn(8, 4),
                    torch.randint(0, 2, (8,)), steps=3, store=str(path))
        assert not Path(str(path) + "-wal").exists() and not Path(str(path) + "-shm").exists()
        os.chmod(path, 0o444)
        os.chmod(folder, 0o555)
        yield path
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder, ignore_errors=True)


def _run(args: list[str], home: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": home, "MPLCONFIGDIR": home, "COLUMNS": "120", "PYTHONWARNINGS": "default"}
    return subprocess.run([*_reader_prefix(), sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd="/", timeout=300)


def test_readers_read_a_store_in_a_read_only_folder(read_only_store: Path) -> None:
    home = tempfile.mkdtemp(prefix="gd-home-")
    os.chmod(home, 0o777)
    try:
        code = ("import sys, graddoctor as gd; d = gd.load_run(sys.argv[1]); "
                "print(d.n_steps, int(d.stat('signal_norm').shape[0]))")
        res = _run(["-c", code, str(read_only_store)], home)
        assert res.returncode == 0, res.stderr
        assert res.stdout.split() == ["3", "2"]

        res = _run(["-m", "graddoctor", "stats", str(read_only_store), "--json"], home)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["step"] == 2

        report = Path(home) / "r.html"
        res = _run(["-m", "graddoctor", "report", str(read_only_store), "-o", str(report), "--no-figures"], home)
        assert res.returncode == 0, res.stderr
        assert report.is_file()

        res = _run(["-m", "graddoctor", "diagnose", str(read_only_store)], home)
        assert res.returncode in (0, 1), res.stderr
        flat = " ".join(res.stderr.split())
        assert "damaged" not in flat and "read-only for you" in flat, flat
        assert not Path(str(read_only_store) + "-shm").exists()  # nothing was created beside the store
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_unreadable_write_ahead_log_is_named(tmp_path: Path) -> None:
    """A copy of a store being written, with its -wal (records not yet in the main file) but no -shm, in a folder
    the reader cannot write to: was "not a graddoctor run store (SQLite says: unable to open database file)"."""
    from graddoctor.store.base import Batch
    from graddoctor.store.sqlite import SQLiteStore

    src = tmp_path / "run.sqlite"
    store = SQLiteStore(src)
    store.begin({"status": "running", "model_class": "Net"}, [{"index": 0, "name": "fc", "type": "Linear"}])
    store.write(Batch(steps=np.arange(3), wall_time=np.arange(3.0), layer_stats={"signal_norm": np.ones((3, 1))},
                      step_stats={"loss": np.ones(3)}))
    folder = Path(tempfile.mkdtemp(prefix="gd-ro-"))
    home = tempfile.mkdtemp(prefix="gd-home-")
    os.chmod(home, 0o777)
    try:
        for suffix in ("", "-wal"):  # the log still holds every record: the writer is open
            shutil.copyfile(str(src) + suffix, str(folder / "run.sqlite") + suffix)
            os.chmod(str(folder / "run.sqlite") + suffix, 0o444)
        os.chmod(folder, 0o555)
        res = _run(["-m", "graddoctor", "stats", str(folder / "run.sqlite")], home)
        flat = " ".join(res.stderr.split())
        assert res.returncode == 2, flat
        assert "write-ahead log 'run.sqlite-wal' holds records" in flat and "not a graddoctor run store" not in flat
        link = Path(home) / "link.sqlite"  # a symlink in a writable folder: SQLite reads beside its target
        link.symlink_to(folder / "run.sqlite")
        res = _run(["-m", "graddoctor", "stats", str(link)], home)
        flat = " ".join(res.stderr.split())
        assert res.returncode == 2 and "write-ahead log 'run.sqlite-wal' holds records" in flat, flat
    finally:
        store.close("finished")
        os.chmod(folder, 0o755)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
