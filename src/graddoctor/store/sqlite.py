"""The embedded run store: one SQLite file per run.

Layout (schema version 1). Every flush is one transaction, so a reader never sees part of a step, and a
process killed mid-run leaves a file that opens and holds every flush that committed (WAL mode). Arrays are
stored as little-endian float32 blobs; nothing is pickled.

    meta(key TEXT PRIMARY KEY, value TEXT)           JSON values: versions, model summary, optimizer, status
    layers(idx INTEGER PRIMARY KEY, name, info)       info: JSON (type, shapes, activation, forward order)
    steps(step INTEGER PRIMARY KEY, wall_time, loss, total_grad_norm, nonfinite_grads)
    layer_stats(stat, step, data BLOB)                data: float32[layers] in layer-index order
    series(name, layer, step, data BLOB)              data: float32[T], e.g. time_signal of an RNN input
    findings(id INTEGER PRIMARY KEY, source, created, data TEXT)

Each call that adds findings (one diagnosis) is a *batch*: its rows share a ``created`` time that no earlier
batch of the same source has, and meta["findings_latest"] maps each source to the ``created`` of its latest
batch (which also marks a batch that found nothing). Readers show the latest batch of each source
(:func:`~graddoctor.store.tables.latest_findings`); earlier batches are kept (:func:`load_findings` with
``history=True`` returns them). Stores written before the key existed group their rows by ``created``.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..errors import SchemaVersionError, StoreError
from .base import Batch
from .run_data import LAYER_STATS, RunData
from .tables import assemble, latest_findings

SCHEMA_VERSION = 1
T = TypeVar("T")
APPLICATION_ID = 0x67646F63  # "gdoc"
#: meta key: source -> ``created`` of that source's latest batch of findings (not part of RunData.meta)
FINDINGS_LATEST = "findings_latest"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layers(idx INTEGER PRIMARY KEY, name TEXT NOT NULL, info TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps(step INTEGER PRIMARY KEY, wall_time REAL, loss REAL, total_grad_norm REAL,
                                 nonfinite_grads REAL);
CREATE TABLE IF NOT EXISTS layer_stats(stat TEXT NOT NULL, step INTEGER NOT NULL, data BLOB NOT NULL,
                                       PRIMARY KEY(stat, step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series(name TEXT NOT NULL, layer INTEGER NOT NULL, step INTEGER NOT NULL,
                                  data BLOB NOT NULL, PRIMARY KEY(name, layer, step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS findings(id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT, created REAL,
                                    data TEXT NOT NULL);
"""


#: First bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"


#: Files SQLite keeps beside a database (write-ahead log, shared memory, rollback journal).
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def side_file_of(path: str | os.PathLike[str]) -> str | None:
    """The database that ``path`` is a side file of (``run.sqlite`` for ``run.sqlite-wal``), when it exists."""
    p = str(path)
    base = next((p[: -len(x)] for x in SQLITE_SIDE_FILES if p.endswith(x)), None)
    return base if base and Path(base).is_file() else None


def never_a_store(path: str | os.PathLike[str]) -> bool:
    """True when the file at ``path`` can never become a readable run store, whatever a writer does next: it
    holds bytes that are not an SQLite header, or its header names another application. (A store being
    created is empty or has the header with application id 0 or ours, so readers that wait for one keep
    waiting only then.) A side file of an existing database (``run.sqlite-wal``) never becomes a store either."""
    if side_file_of(path) is not None:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError:
        return False
    if not head:
        return False
    if not SQLITE_MAGIC.startswith(head[: len(SQLITE_MAGIC)]):
        return True
    app_id = int.from_bytes(head[68:72], "big") if len(head) >= 72 else 0
    return app_id not in (0, APPLICATION_ID)


class DamagedStoreError(StoreError):
    """A file whose header names it a graddoctor run store but whose pages SQLite cannot read (truncated or
    partly overwritten). Unlike a store that is still being created, it never becomes readable: a reader that
    waits for a store (the live view) gives up at once."""


class UnreadableWalError(StoreError):
    """A run store whose write-ahead log holds records that this process cannot read, because SQLite cannot
    create (or open) the ``-shm`` file beside it: the folder is not writable for the reader. Waiting does not
    help, so a reader that waits for a store (the live view) gives up at once."""


def _header_app_id(path: str | os.PathLike[str]) -> int | None:
    """The application id in an SQLite file's header (bytes 68-71), read without SQLite; None when the file is
    not an SQLite file or cannot be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(72)
    except OSError:
        return None
    return int.from_bytes(head[68:72], "big") if len(head) == 72 and head.startswith(SQLITE_MAGIC) else None


def _blob(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


def _unblob(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<f4")


def _nan_to_none(x: float) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


#: SQLite's extended result codes for a read-only connection that cannot create or initialise the shared-memory
#: file (``-shm``) that reading a WAL-mode database needs: SQLITE_READONLY_DIRECTORY (the folder is not writable,
#: so ``run.sqlite-shm`` cannot be created) and SQLITE_READONLY_CANTINIT (it exists but cannot be initialised).
SHM_UNAVAILABLE_CODES = (1544, 1288)
#: SQLITE_CANTOPEN: what the same read says when a write-ahead log lies beside the store but no ``-shm`` file.
SQLITE_CANTOPEN = 14


def _wal_records(path: str) -> bool:
    """True when a write-ahead log with records (not an empty one) lies beside the database at ``path``."""
    try:
        return os.path.getsize(path + "-wal") > 0
    except OSError:
        return False


def _connect_readonly(path: str) -> sqlite3.Connection:
    """A read-only connection. A WAL-mode store (every run store) is read through its ``-shm`` file, which SQLite
    creates beside it; in a folder the reader cannot write to (a colleague's results, a read-only mount), a store
    closed cleanly has no ``-shm``, and SQLite refused to read it ("attempt to write a readonly database"), which
    read as a damaged store. Without a write-ahead log holding records, everything committed is in the main file,
    so it is then opened ``immutable`` (no ``-shm`` needed; no writer has the store open, or its log would lie
    beside it). A log with records that cannot be read that way is a StoreError that says what to do."""
    real = str(Path(path).resolve())  # SQLite keeps -wal and -shm beside the file a symlink points to
    uri = Path(real).as_uri()
    con = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=30, check_same_thread=False)
    try:
        con.execute("PRAGMA user_version").fetchone()  # the first read opens (or needs) the -shm file
        return con
    except sqlite3.Error as e:
        code = getattr(e, "sqlite_errorcode", None)
        no_shm = code == SQLITE_CANTOPEN and not Path(real + "-shm").exists() and _wal_records(real)
        if code not in SHM_UNAVAILABLE_CODES and not no_shm:
            return con  # anything else (not a database, damaged) is named by _validate's checks
        con.close()
        if _wal_records(real):
            raise UnreadableWalError(
                f"cannot read run store {path!r}: its write-ahead log {Path(real).name + '-wal'!r} holds records, "
                f"and reading them needs {Path(real).name + '-shm'!r}, which SQLite cannot create or open in "
                f"{str(Path(real).parent)!r} (not writable for you: {e}); copy the store with its -wal "
                "file into a folder you can write to, or ask its owner to let the run finish") from None
    return sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, timeout=30, check_same_thread=False)


def _not_writable(path: str) -> str | None:
    """Why this process cannot write to the store at ``path`` (None when it can, as far as permissions tell):
    the file is read-only for it, or its folder is and the ``-wal``/``-shm`` files a write needs are not both
    there and writable."""
    if not os.access(path, os.W_OK):
        return "the file is read-only for you"
    folder = Path(path).resolve().parent
    if not os.access(folder, os.W_OK) and not all(os.access(path + s, os.W_OK) for s in ("-wal", "-shm")):
        return (f"its folder {str(folder)!r} is not writable for you (SQLite writes {Path(path).name + '-wal'!r} "
                "and '-shm' beside the store)")
    return None


def _connect(path: str, *, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            con = _connect_readonly(path)
        else:
            con = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        con.execute("PRAGMA busy_timeout = 30000")
        return con
    except sqlite3.Error as e:
        raise StoreError(f"cannot open run store {path!r}: {e}") from None


def _validate(con: sqlite3.Connection, path: str) -> None:
    try:
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as e:
        if _header_app_id(path) == APPLICATION_ID:  # a run store whose pages are damaged (truncated, overwritten)
            raise DamagedStoreError(f"run store {path!r} is damaged (SQLite says: {e}); the file may have been "
                                    "truncated or partly overwritten: restore it from a copy") from None
        raise StoreError(f"{path!r} is not a graddoctor run store (SQLite says: {e}); "
                         "pass the .sqlite file that gd.watch(store=...) wrote") from None
    if app_id != APPLICATION_ID:
        if app_id == 0 and _records_in_missing_wal(con, path):
            raise StoreError(
                f"{path!r} holds no records yet: it is a store in WAL mode whose records are still in its "
                f"write-ahead log {Path(path).name + '-wal'!r}, which is missing (or empty) beside it (a copy of a run store "
                "taken while the run was written, or after its writer was killed, needs that file too). Copy "
                f"{Path(path).name + '-wal'!r} along with it, or copy the store after the run has ended")
        raise StoreError(f"{path!r} is an SQLite file but not a graddoctor run store; "
                         "pass the .sqlite file that gd.watch(store=...) wrote")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path!r} was written with store schema version {version}, newer than this graddoctor "
            f"understands ({SCHEMA_VERSION}); upgrade graddoctor (pip install -U graddoctor) to read it")


def _records_in_missing_wal(con: sqlite3.Connection, path: str) -> bool:
    """True for a database file in WAL mode with no table and no (or an empty) ``-wal`` file beside it: what a copy of a run
    store being written (or of one whose writer was killed) looks like when its write-ahead log was left behind.
    A writer sets WAL mode first and everything else (the application id, the tables, every step) reaches the
    main file only at a checkpoint, so without the log the copy reads as an empty, foreign SQLite file."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
        tables = con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    except (OSError, sqlite3.Error):
        return False
    wal_mode = len(head) >= 20 and head[18] == 2 and head[19] == 2  # file format bytes: 2 = WAL
    wal = Path(path + "-wal")  # opening the copy (even read-only) creates an empty one
    return wal_mode and tables == 0 and (not wal.exists() or wal.stat().st_size == 0)


class SQLiteStore:
    """Writes one run to one SQLite file (WAL mode). Created by :func:`graddoctor.watch`.

    Args:
        path: the file to create. Its directory must exist and be writable.
        overwrite: replace an existing graddoctor store at ``path`` (never any other file).
    """

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        self.path = str(path)
        p = Path(self.path)
        if not p.parent.exists():
            raise StoreError(f"cannot create run store {self.path!r}: directory {str(p.parent)!r} does not exist; "
                             "create it first or choose another path")
        if not os.access(p.parent, os.W_OK):
            raise StoreError(f"cannot create run store {self.path!r}: directory {str(p.parent)!r} is not writable")
        # An empty file (touch, mktemp, tempfile.NamedTemporaryFile(suffix=".sqlite")) holds nothing to lose: it
        # becomes the store. It was refused, with or without overwrite=True, as "an SQLite file but not a
        # graddoctor run store; pass the .sqlite file that gd.watch(store=...) wrote".
        if p.exists() and not (p.is_file() and p.stat().st_size == 0 and not _wal_records(self.path)):
            if p.is_dir():
                raise StoreError(f"run store path {self.path!r} is a directory; give a file name like run.sqlite")
            con = _connect(self.path, readonly=True)
            try:
                _validate(con, self.path)
            finally:
                con.close()
            if not overwrite:
                raise StoreError(f"run store {self.path!r} already exists; pass overwrite=True to replace it "
                                 "or choose a new path")
            for suffix in ("", "-wal", "-shm"):
                Path(self.path + suffix).unlink(missing_ok=True)
        self._con = _connect(self.path, readonly=False)
        try:
            self._con.execute("PRAGMA journal_mode = WAL")
            self._con.execute("PRAGMA synchronous = NORMAL")
            self._con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self._con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._con.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise StoreError(f"cannot create run store {self.path!r}: {e}") from None

    def _tx(self, fn: Any) -> None:
        con = self._con
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                fn(con)
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    con.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:  # disk full, read-only file, I/O error: name the store, hide SQLite's stack
            raise StoreError(f"cannot write to run store {self.path!r}: {e}") from None

    def begin(self, meta: dict[str, Any], layers: list[dict[str, Any]]) -> None:
        def do(con: sqlite3.Connection) -> None:
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [(k, json.dumps(v)) for k, v in meta.items()])
            con.executemany("INSERT OR REPLACE INTO layers VALUES (?, ?, ?)",
                            [(d["index"], d["name"], json.dumps(d)) for d in layers])
        self._tx(do)

    def update_meta(self, meta: dict[str, Any]) -> None:
        self._tx(lambda con: con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                             [(k, json.dumps(v)) for k, v in meta.items()]))

    def update_layers(self, layers: list[dict[str, Any]]) -> None:
        self._tx(lambda con: con.executemany("INSERT OR REPLACE INTO layers VALUES (?, ?, ?)",
                                             [(d["index"], d["name"], json.dumps(d)) for d in layers]))

    def write(self, batch: Batch) -> None:
        steps = [int(s) for s in batch.steps]
        tgn = batch.step_stats.get("total_grad_norm", np.full(len(steps), np.nan))
        nfg = batch.step_stats.get("nonfinite_grads", np.full(len(steps), np.nan))
        loss = batch.step_stats.get("loss", np.full(len(steps), np.nan))
        step_rows = [(s, float(batch.wall_time[i]), _nan_to_none(loss[i]), _nan_to_none(tgn[i]),
                      _nan_to_none(nfg[i])) for i, s in enumerate(steps)]
        stat_rows = [(name, s, _blob(arr[i])) for name, arr in batch.layer_stats.items()
                     for i, s in enumerate(steps)]
        series_rows = [(name, int(li), int(step), _blob(v)) for step, li, name, v in batch.series]

        def do(con: sqlite3.Connection) -> None:
            con.executemany("INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?)", step_rows)
            con.executemany("INSERT OR REPLACE INTO layer_stats VALUES (?, ?, ?)", stat_rows)
            if series_rows:
                con.executemany("INSERT OR REPLACE INTO series VALUES (?, ?, ?, ?)", series_rows)
        self._tx(do)

    def add_findings(self, findings: list[dict[str, Any]], source: str) -> None:
        """One batch: it replaces the previous batch of ``source`` in ``run_data().findings`` (both are kept)."""
        self._tx(lambda con: _insert_findings(con, findings, source))

    def close(self, status: str) -> None:
        if self._con is None:
            return
        try:
            self.update_meta({"status": status, "end_time": time.time()})
            self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._con.close()
            self._con = None  # type: ignore[assignment]

    def run_data(self) -> RunData:
        return load_run(self.path)


def _latest_map(value: str | None) -> dict[str, float]:
    try:
        latest = json.loads(value) if value is not None else {}
    except ValueError:
        return {}
    return {str(k): float(v) for k, v in latest.items() if isinstance(v, (int, float))} \
        if isinstance(latest, dict) else {}


def _insert_findings(con: sqlite3.Connection, findings: list[dict[str, Any]], source: str) -> None:
    """Write one batch of findings (inside the caller's write transaction) and mark it as ``source``'s latest."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", (FINDINGS_LATEST,)).fetchone()
    latest = _latest_map(row[0] if row else None)
    created = time.time()
    prev = con.execute("SELECT MAX(created) FROM findings WHERE source = ?", (source,)).fetchone()[0]
    for p in (prev, latest.get(source)):
        if p is not None and created <= p:  # same clock tick, or a clock set back: still a new batch
            created = float(p) + 1e-3
    con.executemany("INSERT INTO findings(source, created, data) VALUES (?, ?, ?)",
                    [(source, created, json.dumps(f)) for f in findings])
    latest[source] = created
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (FINDINGS_LATEST, json.dumps(latest)))


def read_meta_and_findings(con: sqlite3.Connection, *, history: bool = False
                           ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run's metadata and its findings: the latest batch of each source (every batch with ``history``,
    each finding then with its ``created`` time), each finding with its ``source``."""
    meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta") if k != FINDINGS_LATEST}
    rows = [(src, created, json.loads(d))
            for src, created, d in con.execute("SELECT source, created, data FROM findings ORDER BY id")]
    if history:
        return meta, [{**f, "source": src, "created": created} for src, created, f in rows]
    row = con.execute("SELECT value FROM meta WHERE key = ?", (FINDINGS_LATEST,)).fetchone()
    return meta, latest_findings(rows, _latest_map(row[0] if row else None))


def was_diagnosed(con: sqlite3.Connection) -> bool:
    """True when a batch of findings (a diagnosis, even one that found nothing) was ever stored with the run."""
    return con.execute("SELECT 1 FROM meta WHERE key = ?", (FINDINGS_LATEST,)).fetchone() is not None \
        or con.execute("SELECT 1 FROM findings LIMIT 1").fetchone() is not None


def latest_findings_time(path: str | os.PathLike[str]) -> float | None:
    """When (``time.time()``) the latest batch of findings (a diagnosis) was stored with the run, or None.

    Raises:
        StoreError: the file does not exist, is not a graddoctor store, or is damaged.
    """
    def read(con: sqlite3.Connection, _: str) -> float | None:
        row = con.execute("SELECT value FROM meta WHERE key = ?", (FINDINGS_LATEST,)).fetchone()
        latest = _latest_map(row[0] if row else None)
        created = con.execute("SELECT MAX(created) FROM findings").fetchone()[0]
        times = [*latest.values(), *([float(created)] if created is not None else [])]
        return max(times) if times else None
    return read_store(path, read)


def load_findings(path: str | os.PathLike[str], *, history: bool = False) -> list[dict[str, Any]]:
    """The findings stored with a run: the latest batch of each source, as ``load_run(path).findings``, or
    with ``history=True`` every batch ever stored, oldest first, each finding with its ``created`` time.

    Raises:
        StoreError: the file does not exist, is not a graddoctor store, or is damaged.
    """
    return read_store(path, lambda con, _: read_meta_and_findings(con, history=history)[1])


def append_findings(path: str | os.PathLike[str], findings: list[dict[str, Any]], source: str = "diagnose") -> None:
    """Add one batch of findings (dicts, e.g. ``Finding.to_dict()``) to an existing run store, in one transaction.

    The batch replaces the previous batch of ``source`` in what readers show (``load_run(path).findings``);
    the previous one stays in the store (:func:`load_findings` with ``history=True``).

    Safe while a writer is still recording into the store (WAL mode; SQLite serialises the writers).

    Raises:
        StoreError: the file does not exist, is not a graddoctor store, or cannot be written.
    """
    path = str(path)
    if not Path(path).is_file():
        raise StoreError(f"run store {path!r} does not exist; pass the file that gd.watch(store=...) wrote")
    why = _not_writable(path)
    if why:  # SQLite opened it read-only without a word, and the first read failed as if the file were damaged
        raise StoreError(f"cannot add findings to run store {path!r}: {why}; it can still be read (graddoctor "
                         "diagnose --no-save, report, stats)")
    con = _connect(path, readonly=False)
    try:
        _validate(con, path)
        con.execute("BEGIN IMMEDIATE")
        _insert_findings(con, findings, source)
        con.execute("COMMIT")
    except sqlite3.Error as e:
        raise StoreError(f"cannot add findings to run store {path!r}: {e}") from None
    finally:
        con.close()


def load_run(path: str | os.PathLike[str]) -> RunData:
    """Read a run store (also one still being written) into :class:`RunData`.

    The whole read happens in one read transaction, so the steps returned are exactly the flushes that had
    committed when the read began: never part of a step.

    Raises:
        StoreError: the file does not exist, is not a graddoctor store, or is damaged.
        SchemaVersionError: the store was written by a newer graddoctor.
    """
    return read_store(path, _read)


def read_store(path: str | os.PathLike[str], reader: Callable[[sqlite3.Connection, str], T]) -> T:
    """Open a run store read-only and call ``reader(connection, path)`` inside one read transaction.

    Every reader of stores goes through here (``load_run``, the report's sampled reader, the live view), so
    they share the checks and the errors: a missing, empty, foreign, newer or damaged file raises
    :class:`StoreError` (or :class:`SchemaVersionError`) naming the problem, never a deep SQLite traceback.
    """
    path = str(path)
    if Path(path).is_dir():
        raise StoreError(f"run store {path!r} is a directory; pass the .sqlite file that gd.watch(store=...) wrote")
    base = side_file_of(path)
    if base is not None:  # "run.sqlite-wal" by a slip of tab completion: it read as empty or "not a database"
        raise StoreError(f"{path!r} is a file SQLite keeps beside the run store {base!r}, not a store; pass "
                         f"{base!r}")
    if not Path(path).is_file():
        raise StoreError(f"run store {path!r} does not exist; pass the file that gd.watch(store=...) wrote")
    if Path(path).stat().st_size == 0:
        raise StoreError(f"run store {path!r} is empty (0 bytes): it was never written or was truncated; "
                         "pass the .sqlite file that gd.watch(store=...) wrote")
    closed = not _wal_records(str(Path(path).resolve()))  # no log with records: no writer mid-run (or killed)
    con = _connect(path, readonly=True)
    read = False
    try:
        _validate(con, path)
        con.execute("BEGIN")
        try:
            out = reader(con, path)
            read = True
            return out
        finally:
            con.execute("COMMIT")
    except sqlite3.DatabaseError as e:
        raise StoreError(f"run store {path!r} is damaged or unreadable ({e}); "
                         "the file may be truncated: restore it from a copy") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:  # damaged JSON or blobs
        raise StoreError(f"run store {path!r} holds damaged records ({type(e).__name__}: {e}); "
                         "restore it from a copy") from None
    finally:
        con.close()
        if closed and read:  # a run store read whole (never a damaged or foreign file)
            _remove_reader_side_files(path)


def _remove_reader_side_files(path: str) -> None:
    """Remove the empty ``-wal`` and the ``-shm`` file that reading a closed store left beside it.

    A read-only connection to a WAL-mode store creates both, and SQLite removes them only when the last
    connection to close can write: every ``graddoctor report``, ``stats`` or ``gd.load_run`` of a finished run
    left ``run.sqlite-wal`` and ``run.sqlite-shm`` beside it. Called only when no log with records lay beside the
    store before the read. A read-write connection that reads the schema and closes is then the last one, so
    SQLite checkpoints its empty log (writing nothing) and removes both; while a writer has the store open, its
    connection keeps them, and when the log holds records (a writer killed mid-run: they are never written into
    the store by a reader) or the folder or file is not writable, nothing is done."""
    real = str(Path(path).resolve())
    if not any(Path(real + s).exists() for s in ("-wal", "-shm")) or _wal_records(real) or _not_writable(real):
        return
    try:
        con = sqlite3.connect(Path(real).as_uri() + "?mode=rw", uri=True, timeout=0)
        try:
            con.execute("PRAGMA schema_version").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        pass


def _read(con: sqlite3.Connection, path: str) -> RunData:
    meta, findings = read_meta_and_findings(con)
    layers = [json.loads(info) for (info,) in con.execute("SELECT info FROM layers ORDER BY idx")]
    rows = con.execute("SELECT step, wall_time, loss, total_grad_norm, nonfinite_grads FROM steps ORDER BY step"
                       ).fetchall()
    steps = np.array([r[0] for r in rows], dtype=np.int64)
    col = lambda k: np.array([np.nan if r[k] is None else r[k] for r in rows], dtype=np.float64)  # noqa: E731
    n_layers = len(layers)
    layer_stats: dict[str, np.ndarray] = {}
    # One indexed range scan per known statistic (SELECT DISTINCT would read the whole table of a big store).
    for stat in LAYER_STATS:
        if con.execute("SELECT 1 FROM layer_stats WHERE stat = ? LIMIT 1", (stat,)).fetchone() is None:
            continue  # never recorded: assemble() gives it an all-NaN view that costs no memory
        arr = np.full((steps.size, n_layers), np.nan, dtype=np.float32)
        for s, data in con.execute("SELECT step, data FROM layer_stats WHERE stat = ? ORDER BY step", (stat,)):
            pos = int(np.searchsorted(steps, s))
            if pos < steps.size and steps[pos] == s:
                v = _unblob(data)
                arr[pos, : v.size] = v[:n_layers]
        layer_stats[stat] = arr
    series = [(int(step), int(layer), name, _unblob(data).copy())
              for name, layer, step, data in con.execute("SELECT name, layer, step, data FROM series")]
    batch = Batch(steps=steps, wall_time=col(1), layer_stats=layer_stats,
                  step_stats={"loss": col(2), "total_grad_norm": col(3), "nonfinite_grads": col(4)},
                  series=series)
    return assemble(meta, layers, [batch] if steps.size or series else [], findings, path=path,
                    diagnosed=was_diagnosed(con))
