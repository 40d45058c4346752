"""Fixtures of the present tests (helpers live in present_fixtures.py)."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from present_fixtures import GOLDEN_DIR, REGEN_ENV, write_store


@pytest.fixture
def make_store(tmp_path: Path) -> Callable[..., Path]:
    """``make_store(name="run.sqlite", **kwargs)`` writes a synthetic store under tmp_path."""
    def make(name: str = "run.sqlite", **kwargs: Any) -> Path:
        return write_store(tmp_path / name, **kwargs)
    return make


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """``golden(name, text)`` compares ``text`` with tests/golden/<name> (rewritten when GRADDOCTOR_REGEN_GOLDEN=1)."""
    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
        if os.environ.get(REGEN_ENV) == "1":
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"golden file {path} missing; run with {REGEN_ENV}=1 to create it"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, (f"output differs from {path}; if the change is intended, regenerate with "
                                  f"{REGEN_ENV}=1 and review the diff")
    return check
