"""Three broken runs, and what each tool tells the user about them.

- vanishing: a 20-layer sigmoid MLP (PyTorch default init, SGD): gradients shrink layer by layer;
- exploding: a 10-layer ReLU MLP initialised at 3x He scale, SGD at lr 0.5: gradients and loss blow up;
- NaN: a log of a value that can be negative inside forward (module ``log`` of a Sequential).

A tool "reports" what it raises, warns, or flags by itself. Histograms or norms that a person could
inspect later are listed as "records" (no alarm), because nothing in the run points at the problem.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from peer_tools import Cockpit, DetectAnomaly, GradDoctor, Plain
from torch import nn
from torch.nn import functional as F

STEPS = 30


class Log(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(x)


def vanishing() -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(20):
        layers += [nn.Linear(64, 64), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(64, 10))


def exploding() -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(10):
        lin = nn.Linear(64, 64)
        nn.init.normal_(lin.weight, std=3 * math.sqrt(2 / 64))
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(64, 10))


def nan_in_forward() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64), Log(), nn.Linear(64, 10))


SCENARIOS = {"vanishing (20x sigmoid)": (vanishing, 0.1), "exploding (3x He init, lr 0.5)": (exploding, 0.5),
             "NaN (log of a negative in forward)": (nan_in_forward, 0.1)}


def _graddoctor_report(tool: GradDoctor) -> str:
    tool.run.stop()
    diag = tool.run.diagnose()
    found = [f for f in diag.findings if f.severity in ("warning", "critical")]
    if not found:
        return "no finding"
    parts = []
    for f in found[:2]:
        where = f.origin or (f"{f.layers[0]}..{f.layers[-1]}" if len(f.layers) > 1 else
                             (f.layers[0] if f.layers else "?"))
        cause = f", cause {f.causes[0]}" if f.causes else ""
        parts.append(f"{f.severity} {f.kind} at `{where}`, step {f.step}{cause}")
    more = f" (+{len(found) - 2} more)" if len(found) > 2 else ""
    return "; ".join(parts) + more


def _flags(tool_cls: type[Plain], report: str) -> str:
    """Whether the report names the layer (L), the step (S) and a cause (C)."""
    if report.startswith(("no ", "records")):
        return "-"
    if issubclass(tool_cls, GradDoctor):  # flags of the first (most severe) finding
        first = report.split("; ")[0]
        return "".join(k for k, ok in (("L", "at `" in first and "at `?`" not in first),
                                       ("S", "step None" not in first and "step" in first),
                                       ("C", "cause" in first and "cause unknown" not in first)) if ok) or "-"
    if issubclass(tool_cls, DetectAnomaly) and "Backward" in report:
        return "S, op (not layer)"
    return "S" if "step" in report.lower() else "-"


RECORDS = {  # what a tool without alarms leaves for a person to inspect
    "wandb": "records gradient histograms",
    "TensorBoard": "records gradient histograms",
    "Lightning": "records per-parameter norms",
    "fastai": "records mean/std/near_zero per layer",
    "Cockpit": "records instruments, plots",
}


def detect(tool_cls: type[Plain], scenario: str) -> str:
    build, lr = SCENARIOS[scenario]
    torch.manual_seed(0)
    model = build()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    tool = tool_cls(model, opt, F.cross_entropy)
    x, y = torch.randn(64, 64), torch.randint(0, 10, (64,))
    report = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            tool.attach()
            for _ in range(STEPS):
                tool.step(x, y)
        except Exception as e:  # a crash is what the tool reports
            msg = str(e).strip().splitlines()[0][:110] if str(e).strip() else ""
            report = f"raises {type(e).__name__} at step {tool.i}: {msg}"
        if isinstance(tool, GradDoctor):
            report = _graddoctor_report(tool)
        else:
            try:
                tool.close()
            except Exception:
                pass
    own = [w for w in caught if not issubclass(w.category, (DeprecationWarning, FutureWarning))
           and "Anomaly Detection has been enabled" not in str(w.message)
           and "pkg_resources" not in str(w.message)
           and "backward hook" not in str(w.message)]  # torch's note about BackPACK's hooks, not an alarm
    if not report and own and not isinstance(tool, GradDoctor):
        report = f"warns: {str(own[0].message).splitlines()[0][:100]}"
    if not report:
        key = next((k for k in RECORDS if k.lower() in tool_cls.__name__.lower()), None)
        report = RECORDS[key] if key else "no alarm"
    return report


def detection_table(tools: list[type[Plain]], name_of: Any) -> list[str]:
    lines = ["| tool | " + " | ".join(SCENARIOS) + " |", "|---" * (len(SCENARIOS) + 1) + "|"]
    for cls in tools:
        if cls is Plain:
            continue
        cells = []
        for sc in SCENARIOS:
            try:
                r = detect(cls, sc)
            except Exception as e:  # a tool that cannot even be set up
                r = f"not run: {type(e).__name__}: {str(e)[:80]}"
            cells.append(f"{r.replace('|', '/')} [{_flags(cls, r)}]")
        lines.append(f"| {name_of(cls)} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


__all__ = ["SCENARIOS", "detect", "detection_table", "Cockpit"]
