"""vanishing_gradient with cause weight_decay_only: a layer whose update is essentially its weight decay."""
from __future__ import annotations

import numpy as np

from ..causes import rank_remedies
from ..context import Context, fnum, nanmedian
from ..findings import Finding
from .base import Detector, register


@register
class WeightDecayOnly(Detector):
    """He et al. (2015, footnote 2): "A way of diagnosing diminishing gradients is to check whether the
    gradient is modulated only by weight decay." torch's optimizers add the decay λW inside ``step()``, so the
    recorded ``.grad`` is the data gradient alone and ||g||/||W|| / λ is the ratio of the data term to the
    decay term of the step. A layer whose ratio stays below ``fraction`` over the last ``window`` steps is
    moved (almost) only by its weight decay. Needs the optimizer (its ``weight_decay``) recorded by watch().
    An L2 penalty written into the loss is not separable from the data gradient and is not detected.

    Args:
        fraction: 0.1: the data gradient is less than a tenth of the decay term.
        window: recorded steps examined at the end of the run (10).
        optimizers: optimizer classes whose step is lr x (gradient + decay), where the comparison holds. Adam,
            AdamW, RMSprop... divide the data gradient by its running scale, so even a tiny data gradient makes a
            full-sized step and the decay term does not dominate the update.
    """

    name = "weight_decay"

    def __init__(self, fraction: float = 0.1, window: int = 10,
                 optimizers: tuple[str, ...] = ("SGD", "ASGD")) -> None:
        self.fraction = fraction
        self.window = window
        self.optimizers = tuple(optimizers)

    def detect(self, ctx: Context) -> list[Finding]:
        wd = ctx.optimizer_hp("weight_decay")
        opt = (ctx.meta.get("optimizer") or {}).get("class")
        if ctx.source != "run" or not wd or wd <= 0 or ctx.n_steps == 0 or opt not in self.optimizers:
            return []
        w = min(self.window, ctx.n_steps)
        gr = nanmedian(ctx.stat("grad_ratio")[:, -w:], axis=1)
        chain = ctx.chain() or list(range(len(ctx.layers)))
        hit = [i for i in chain if np.isfinite(gr[i]) and gr[i] / wd < self.fraction]
        if not hit:
            return []
        ev = {"weight_decay": wd, "data_to_decay_ratio": {ctx.layers[i].name: fnum(gr[i] / wd) for i in hit}}
        causes = ["weight_decay_only"]
        return [Finding(kind="vanishing_gradient", severity="warning", layers=[ctx.layers[i].name for i in hit],
                        axis="depth", step=int(ctx.steps[-w]), evidence=ev, causes=causes,
                        remedies=rank_remedies(causes, "vanishing_gradient"),
                        message=f"{len(hit)} layer(s) are moved almost only by weight decay: their data gradient "
                                f"is below {self.fraction:g} x the decay term", detector=self.name)]
