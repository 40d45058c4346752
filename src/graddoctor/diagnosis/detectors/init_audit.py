"""poor_initialization (info): weight scales far from the variance-preserving value."""
from __future__ import annotations

from ..causes import INIT_TOO_LARGE, INIT_TOO_SMALL, init_audit
from ..context import Context
from ..findings import Finding
from .base import Detector, register


@register
class InitAudit(Detector):
    """Each hidden weight layer's variance against Xavier 2/(fan_in+fan_out) (Glorot & Bengio 2010, eq. 12) and
    He 2/fan_in (He et al. 2015, eq. 10), the reference chosen by the activation that follows. The output head
    is skipped. Emits one *info* finding listing the layers outside the bounds: a scale alone is not a problem
    until the signal shows it; the vanishing/exploding findings cite it as a cause.

    Args:
        too_small: variance/reference below which a layer is flagged (default
            :data:`graddoctor.diagnosis.causes.INIT_TOO_SMALL`, 0.1: below PyTorch's own default of 1/6 of He).
        too_large: variance/reference above which a layer is flagged (10).
    """

    name = "init_audit"

    def __init__(self, too_small: float = INIT_TOO_SMALL, too_large: float = INIT_TOO_LARGE) -> None:
        self.too_small = too_small
        self.too_large = too_large

    def detect(self, ctx: Context) -> list[Finding]:
        rows = [a for a in init_audit(ctx, 0, self.too_small, self.too_large) if not a["last"]]
        bad = [a for a in rows if a["verdict"] != "ok"]  # beyond the bound over the whole factor_range
        if not bad:
            return []
        small = [a for a in bad if a["verdict"] == "too_small"]
        causes = (["init_scale_too_small"] if small else []) + (["init_scale_too_large"] if len(small) < len(bad)
                                                                else [])
        remedies = ["he_init", "xavier_init", "lsuv_init"] if any(a["reference"] == "he" for a in bad) \
            else ["xavier_init", "he_init", "lsuv_init"]
        message = (f"{len(bad)} layer(s) start with a weight variance outside "
                   f"[{self.too_small:g}, {self.too_large:g}] x the variance-preserving value")
        if small and ctx.has_residual:
            # GPT-2 (std 0.02/sqrt(2 n_layer) on each block's output projection), Fixup, SkipInit and T-Fixup
            # scale residual branches down on purpose, so the residual stream's variance stays bounded with depth.
            message += ("; in a residual network a scaled-down layer that ends a residual branch (an output "
                        "projection) is deliberate (GPT-2, Fixup), not a problem")
        return [Finding(kind="poor_initialization", severity="info", layers=[a["layer"] for a in bad],
                        evidence={"audit": bad, "residual": bool(ctx.has_residual)}, causes=causes,
                        remedies=remedies, message=message, detector=self.name)]
