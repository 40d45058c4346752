"""Regression: ``graddoctor check`` wrote per-layer values below 0.01 in scientific notation ("2.35e-03") while
``diagnose``, ``stats``, ``live`` and the report write them as "0.00235" (scientific only below 0.001), so the
same backward signal read two ways in two views. The check's table now formats numbers as the others do."""
from graddoctor.commands.check import _fmt
from graddoctor.present.explain import fmt_num


def test_check_cells_match_the_other_views():
    for v in (0.00235, 0.0169, 6.1e-06, 0.119, 2.5e5, 0.0, 1.0, float("inf"), float("nan"), None, "ok", 3):
        assert _fmt(v) == fmt_num(v), v
    assert _fmt(0.00235) == "0.00235"
