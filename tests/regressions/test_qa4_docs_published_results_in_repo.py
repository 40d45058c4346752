"""QA4 (docs): the lab's docs and experiment modules cite `published_results.md §N` for every published number
and tolerance, and docs/lab.md pointed to `shared/reference/published_results.md`, a file outside the
repository: a user of a fresh checkout could not look any of them up. The reference now ships as
docs/lab/published_results.md, linked from docs/lab.md, and every section cited by number exists in it."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "lab" / "published_results.md"


def test_the_reference_ships_with_the_docs() -> None:
    assert REFERENCE.is_file()
    assert "(lab/published_results.md)" in (ROOT / "docs" / "lab.md").read_text(encoding="utf-8")
    assert "shared/reference" not in (ROOT / "docs" / "lab.md").read_text(encoding="utf-8")


def test_cited_sections_exist() -> None:
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", REFERENCE.read_text(encoding="utf-8"), re.M))
    sources = [*(ROOT / "src" / "graddoctor" / "lab").rglob("*.py"), *(ROOT / "docs").rglob("*.md")]
    cited = {}
    for path in sources:
        if path == REFERENCE:
            continue
        for sec in re.findall(r"published_results\.md\W{0,3}§ ?(\d+(?:\.\d+)?)", path.read_text(encoding="utf-8")):
            cited.setdefault(sec, path.name)
    assert cited, "no citation found: the pattern is broken"
    missing = {sec: where for sec, where in cited.items() if sec not in sections}
    assert not missing, f"sections cited but not in {REFERENCE.name}: {missing}"
