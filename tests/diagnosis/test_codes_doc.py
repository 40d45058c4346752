"""docs/codes.md lists every code, and every code a detector can emit is in the tables."""
from pathlib import Path

from graddoctor.diagnosis.causes import CAUSE_REMEDIES
from graddoctor.diagnosis.codes import CAUSES, KINDS, REMEDIES

DOC = Path(__file__).resolve().parents[2] / "docs" / "codes.md"


def test_codes_doc_lists_every_code():
    text = DOC.read_text()
    for code in [*KINDS, *CAUSES, *REMEDIES]:
        assert f"`{code}`" in text, code


def test_cause_remedy_table_uses_known_codes():
    assert set(CAUSE_REMEDIES) <= set(CAUSES)
    assert all(r in REMEDIES for rs in CAUSE_REMEDIES.values() for r in rs)


def test_every_kind_has_a_plain_language_explanation_and_a_short_name():
    from graddoctor.diagnosis.codes import KINDS
    from graddoctor.present.explain import EXPLANATIONS
    from graddoctor.repair.table import SHORT_KIND
    for kind in KINDS:
        text, ref = EXPLANATIONS[kind]
        assert text and ref, kind
        assert kind in SHORT_KIND or kind in ("saturation",), kind
