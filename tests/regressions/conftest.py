"""Shared fixtures for the regression tests."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch.distributed as dist


@pytest.fixture()
def group(tmp_path: Path) -> Iterator[None]:
    """A gloo ``torch.distributed`` process group of one rank (rank 0, world size 1) for the test, destroyed after it."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()
