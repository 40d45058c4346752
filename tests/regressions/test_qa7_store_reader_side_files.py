"""Regression: reading a finished run store (``gd.load_run``, ``graddoctor report``, ``stats``, ``diagnose
--no-save``, ``run.diagnose()``) left ``run.sqlite-wal`` (empty) and ``run.sqlite-shm`` beside it: a read-only
connection to a WAL-mode database creates both, and SQLite removes them only when the last connection to close
can write. A folder of runs filled with two side files per run after one look at each. A read now removes what
it left; it never touches the files of a writer that has the store open, nor writes into the store the log of
a writer that was killed."""
import hashlib
import shutil
from pathlib import Path

import numpy as np
from tests.present.present_fixtures import write_store

import graddoctor as gd
from graddoctor.present.sampling import load_for_display
from graddoctor.store.base import Batch
from graddoctor.store.sqlite import SQLiteStore, load_findings


def _side_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name + "-"))


def _batch(first: int, n: int = 3) -> Batch:
    steps = np.arange(first, first + n)
    return Batch(steps=steps, wall_time=steps * 0.1, layer_stats={"signal_norm": np.ones((n, 2))},
                 step_stats={"loss": np.ones(n)})


def test_reading_a_finished_store_leaves_nothing_beside_it(tmp_path):
    path = write_store(tmp_path / "run.sqlite", n_steps=12)
    assert _side_files(path) == []
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert gd.load_run(path).n_steps == 12
    load_for_display(path, 5)
    load_findings(path)
    gd.diagnose(str(path), save=False)
    assert _side_files(path) == []
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # the read wrote nothing into the store


def test_a_writer_keeps_its_files_and_goes_on_writing(tmp_path):
    path = tmp_path / "live.sqlite"
    from tests.present.present_fixtures import layer_rows

    store = SQLiteStore(path)
    store.begin({"status": "running"}, layer_rows(["a", "b"]))
    store.write(_batch(0))
    assert gd.load_run(path).n_steps == 3
    assert "live.sqlite-wal" in _side_files(path)
    store.write(_batch(3))
    assert gd.load_run(path).n_steps == 6
    store.close("finished")
    assert gd.load_run(path).n_steps == 6


def test_a_killed_writers_log_is_left_alone(tmp_path):
    from tests.present.present_fixtures import layer_rows

    src = tmp_path / "src.sqlite"
    store = SQLiteStore(src)
    store.begin({"status": "running"}, layer_rows(["a", "b"]))
    store.write(_batch(0))
    copy = tmp_path / "copy.sqlite"  # what a writer killed mid-run leaves: the store and its log with records
    shutil.copy(src, copy)
    shutil.copy(str(src) + "-wal", str(copy) + "-wal")
    main, wal = copy.read_bytes(), Path(str(copy) + "-wal").read_bytes()
    assert gd.load_run(copy).n_steps == 3
    assert copy.read_bytes() == main and Path(str(copy) + "-wal").read_bytes() == wal
    store.close("finished")
