""":class:`RepairResult`: the baseline, every trial with its evidence, and the winner."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .trials import Trial


@dataclass
class RepairResult:
    """What :func:`graddoctor.repair` measured.

    Attributes:
        baseline: the unchanged recipe's :class:`~graddoctor.repair.trials.Trial`; its ``findings`` are the first
            seed's, plus each problem that only another seed showed and the audit's findings (what the remedies
            are ranked on).
        trials: one Trial per candidate remedy, in the order tried (skipped ones carry ``skipped``).
        best: the winning trial, or ``None`` when no remedy beat the baseline by more than the seed-to-seed
            spread while fixing the finding.
        model: the repaired model (trained with the winning remedy, first seed), or ``None`` without a winner.
        case: the repaired recipe (``Case``), or ``None`` without a winner.
        candidates: the remedy names in the order the diagnosis ranked them.
        guided: whether the candidates came from the diagnosis (``False``: explicit list or fallback order).
        stopped: why the trials ended before every candidate was tried (``"budget"``: ``budget_s`` had no room
            for another trial; ``"max_trials"``: that many remedies were tried; ``"interrupted"``: Ctrl-C;
            :meth:`stop_note` says which were not tried), or why none was tried (``"healthy"``; ``"no_remedy"``:
            the baseline has problems but none of their causes has a remedy graddoctor can apply), else ``None``.
        seconds: wall time of the whole repair.
        metric_name: ``"accuracy"``, ``"-loss"`` or the user metric's name.
        constant_loss: validation loss of the best constant output (:meth:`Case.constant_loss`: ln C for a
            cross-entropy; zeros or the training targets' mean otherwise); a winner's loss must be below it
            (or, for accuracy, beat ``chance_metric``). NaN when unknown.
        chance_metric: accuracy of the best constant prediction (:meth:`Case.chance_accuracy`, the most frequent
            class's share); a trial whose loss is not below ``constant_loss`` still learns when its accuracy
            beats this by more than its margin. NaN when the metric is not accuracy.
        budget_s, max_trials: the limits the repair ran under (``None``: not given, or unlimited trials).
    """

    baseline: Trial
    trials: list[Trial] = field(default_factory=list)
    best: Trial | None = None
    model: nn.Module | None = None
    case: Any = None
    candidates: list[str] = field(default_factory=list)
    guided: bool = False
    stopped: str | None = None
    seconds: float = 0.0
    metric_name: str = "metric"
    constant_loss: float = math.nan
    chance_metric: float = math.nan
    budget_s: float | None = None
    max_trials: int | None = None

    @property
    def tried(self) -> list[Trial]:
        """Trials that actually trained (not skipped)."""
        return [t for t in self.trials if t.skipped is None]

    @property
    def first_tried_won(self) -> bool:
        """True when the first remedy that trained is the winner."""
        return bool(self.best is not None and self.tried and self.tried[0] is self.best)

    def no_winner_reason(self) -> str:
        """Why there is no winner, in one sentence: the baseline is healthy or its problem has no remedy (none
        was tried), no remedy applied or trained without an error (nothing was compared), the ones that beat the
        baseline learn nothing, or none beat the baseline by the margin while fixing the finding."""
        from ..present.repair_view import no_winner_reason

        # one wording for the terminal, describe(), --save's .txt and the HTML report (which reads to_dict())
        return no_winner_reason(self.to_dict())

    def stop_note(self) -> str | None:
        """Why the trials stopped before every candidate was tried (budget, max_trials, Ctrl-C) and which were
        not tried, in one sentence; ``None`` when they all were (or none was, on purpose: healthy, no remedy)."""
        from ..present.repair_view import stop_note

        return stop_note(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the CLI's ``--json`` prints exactly this)."""
        from ..present.repair_view import no_winner_reason, stop_note

        d = {
            "baseline": self.baseline.to_dict(),
            "trials": [t.to_dict() for t in self.trials],
            "best": None if self.best is None else self.best.to_dict(),
            "changes": [] if self.best is None else list(self.best.changes),
            "candidates": list(self.candidates),
            "guided": self.guided,
            "stopped": self.stopped,
            "seconds": self.seconds,
            "metric_name": self.metric_name,
            "constant_loss": self.constant_loss if math.isfinite(self.constant_loss) else None,
            "chance_metric": self.chance_metric if math.isfinite(self.chance_metric) else None,
            "budget_s": self.budget_s if self.budget_s is None or math.isfinite(self.budget_s) else None,
            "max_trials": self.max_trials,
        }
        # why nothing won, in the words of the terminal and the report (None with a winner)
        d["no_winner_reason"] = None if self.best is not None else no_winner_reason(d)
        d["stop_note"] = stop_note(d)  # the trials ended before every candidate was tried, and which were not
        return d

    def to_json(self, **kwargs: Any) -> str:
        """``json.dumps(self.to_dict())``."""
        return json.dumps(self.to_dict(), **kwargs)

    def describe(self) -> str:
        """Readable text: the outcome and what changed."""
        b = self.baseline
        lines = [f"baseline: {self.metric_name} {b.metric:.4g}, loss {b.loss:.4g}"]
        if self.best is None:
            lines.append(self.no_winner_reason())
        else:
            lines.append(f"winner: {self.best.name}: {self.metric_name} {self.best.metric:.4g} "
                         f"(gain {self.best.gain:+.4g}, margin {self.best.margin:.3g}), loss {self.best.loss:.4g}")
            lines += [f"change: {c}" for c in self.best.changes]
        note = self.stop_note()
        if note is not None:
            lines.append(note)
        return "\n".join(lines)
