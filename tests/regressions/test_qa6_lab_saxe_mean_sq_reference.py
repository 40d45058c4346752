"""Regression: saxe's "d=30 mean s^2" check printed the table's 0.94 in the published column with a "+-20 %"
tolerance, but the verdict measured the distance to 1.0 (E[s^2] = 1): a measured 1.15 passed although it is
22 % above the 0.94 shown beside it, and 0.76 failed although it is within 20 % of it. The published column now
shows the reference the band is around (1.0); the table's value is in the note."""
from graddoctor.lab.experiments import saxe


def _stats(mean_sq: float) -> dict[int, dict[str, float]]:
    out = {}
    for d, (med, frac, _mx, _msq) in saxe.TABLE.items():
        out[d] = {"median": med, "frac_below_0.1": frac, "max": saxe.fuss_catalan_edge(d), "mean_sq": mean_sq}
    return out


def test_mean_sq_verdict_follows_the_value_shown() -> None:
    for measured in (0.76, 1.0, 1.15, 1.25):
        for c in saxe.gaussian_checks(_stats(measured)):
            if "mean s^2" not in c.quantity:
                continue
            inside = abs(measured - c.published) <= saxe.MEAN_SQ_REL_TOL * abs(c.published)
            assert c.passed == inside, (c.quantity, c.published, measured, c.passed)
