"""Read the records of an offline wandb run (``run-*.wandb``) back, for the sink test.

The file is a LevelDB-style log (a 7-byte ``:W&B`` header, then 32 KiB blocks of records, each a 7-byte
header ``crc32 (4) | length (2) | type (1)`` and a chunk of a serialised ``wandb_internal_pb2.Record``).
"""
from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> Iterator[Any]:
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert struct.unpack("<4sHB", data[:7])[0] == b":W&B", "not a wandb run file"
    pos, buf = 7, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # block trailer
            pos += left
            continue
        _, length, typ = struct.unpack("<IHB", data[pos:pos + 7])
        if typ == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        buf = chunk if typ in (FULL, FIRST) else buf + chunk
        if typ in (FULL, LAST):
            rec = pb.Record()
            rec.ParseFromString(buf)
            yield rec


def history(path: Path) -> list[dict[str, Any]]:
    """Every ``run.log`` row, as {key: value}."""
    rows = []
    for rec in records(path):
        if rec.WhichOneof("record_type") == "history":
            rows.append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in rec.history.item})
    return rows


def summary(path: Path) -> dict[str, Any]:
    """The run summary (last update of each key)."""
    out: dict[str, Any] = {}
    for rec in records(path):
        if rec.WhichOneof("record_type") == "summary":
            for i in rec.summary.update:
                out[i.key or "/".join(i.nested_key)] = json.loads(i.value_json)
    return out
