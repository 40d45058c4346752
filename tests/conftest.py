"""Shared test set-up: one thread per test process (CI has 2 cores and pytest-xdist runs 2 workers),
a non-interactive matplotlib backend, and no colour in captured output."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("NO_COLOR", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
