"""The repair benchmark: ``make bench-repair`` (or ``python benchmarks/repair/run.py``).

For every setup in :mod:`setups`: train its healthy reference (2 seeds), then run ``gd.repair`` on the
broken recipe (diagnosis-guided candidates, ``--seeds`` seeds, at most ``--max-trials`` remedies) and
report: the share of broken setups repaired (validation accuracy >= 90 % of the reference's), the average
accuracy gain, how often the first remedy tried was the winner, the share of healthy setups left untouched,
and the time per repair. Every number is measured in the run; results go to ``--out`` as JSON.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from setups import SETUPS, Setup  # noqa: E402

import graddoctor as gd  # noqa: E402
from graddoctor.repair.trials import run_seed  # noqa: E402

#: A broken setup is repaired when its repaired accuracy reaches this share of the reference's (AutoTrainer's
#: criterion is "no symptom after retraining"; ours asks for the accuracy as well).
REPAIRED_SHARE = 0.9


def reference_metric(setup: Setup, seeds: list[int]) -> float:
    case = setup.reference()
    return statistics.mean(run_seed(case, s, diagnose=False).metric for s in seeds)


def run_setup(setup: Setup, seeds: int, max_trials: int, budget: float) -> dict:
    t0 = time.time()
    ref = reference_metric(setup, list(range(seeds)))
    t1 = time.time()
    res = gd.repair(setup.make(), seeds=seeds, budget_s=budget, max_trials=max_trials, progress=False)
    base = res.baseline.metric
    final = res.best.metric if res.best is not None else base
    problems = sorted({f.kind for f in res.baseline.problems()}) if res.baseline.findings is not None else None
    return {
        "name": setup.name, "kind": setup.kind, "broken": setup.broken, "reference": ref, "baseline": base,
        "final": final, "gain": final - base, "repaired": final >= REPAIRED_SHARE * ref,
        "baseline_ok": base >= REPAIRED_SHARE * ref, "winner": res.best.name if res.best else None,
        "first_tried": res.tried[0].name if res.tried else None, "first_won": res.first_tried_won,
        "tried": [t.name for t in res.tried], "skipped": [t.name for t in res.trials if t.skipped],
        "first_qualified": bool(res.tried) and _qualifies(res.tried[0]),
        "problems": problems, "candidates": res.candidates, "repair_seconds": time.time() - t1,
        "seconds": time.time() - t0, "result": res.to_dict(),
    }


def _qualifies(t: object) -> bool:
    """The trial beat the baseline by more than the margin and did not leave the finding in place."""
    gain, margin, fixes = getattr(t, "gain", None), getattr(t, "margin", None), getattr(t, "fixes", None)
    return gain is not None and margin is not None and gain > margin and fixes is not False


def summarise(rows: list[dict]) -> dict:
    broken = [r for r in rows if r["broken"]]
    healthy = [r for r in rows if not r["broken"]]
    won = [r for r in broken if r["winner"]]
    return {
        "broken": len(broken), "healthy": len(healthy),
        "detected": sum(bool(r["problems"]) for r in broken),
        "repaired": sum(r["repaired"] for r in broken),
        "repaired_share": sum(r["repaired"] for r in broken) / max(1, len(broken)),
        "broken_at_baseline": sum(not r["baseline_ok"] for r in broken),
        "avg_gain": statistics.mean(r["gain"] for r in broken) if broken else float("nan"),
        "avg_gain_repaired": statistics.mean(r["gain"] for r in broken if r["winner"]) if won else float("nan"),
        "first_won_share": sum(r["first_won"] for r in won) / max(1, len(won)),
        "first_qualified_share": sum(r.get("first_qualified", False) for r in won) / max(1, len(won)),
        "by_kind": {k: [sum(r["repaired"] for r in broken if r["kind"] == k),
                        sum(r["kind"] == k for r in broken)] for k in dict.fromkeys(r["kind"] for r in broken)},
        "winners": len(won),
        "healthy_untouched": sum(r["winner"] is None for r in healthy) / max(1, len(healthy)),
        "healthy_flagged": sum(bool(r["problems"]) for r in healthy),
        "seconds_per_repair": statistics.mean(r["repair_seconds"] for r in rows) if rows else float("nan"),
    }


def print_table(rows: list[dict], s: dict) -> None:
    head = f"{'setup':<22} {'kind':<16} {'ref':>5} {'before':>6} {'after':>6} {'ok':>3}  winner (tried)"
    print(head)
    print("-" * len(head))
    for r in rows:
        ok = "yes" if r["repaired"] else "no"
        if not r["broken"]:
            ok = "-" if r["winner"] is None else "TOUCHED"
        print(f"{r['name']:<22} {r['kind']:<16} {r['reference']:>5.2f} {r['baseline']:>6.2f} {r['final']:>6.2f} "
              f"{ok:>3}  {r['winner'] or '-'} ({', '.join(r['tried']) or 'none'})")
    print()
    print(f"broken setups repaired (acc >= {REPAIRED_SHARE:.0%} of reference): {s['repaired']}/{s['broken']} "
          f"= {s['repaired_share']:.1%}  (problem detected in {s['detected']}/{s['broken']}; "
          f"{s['broken_at_baseline']} below {REPAIRED_SHARE:.0%} of reference before repair)")
    print(f"average accuracy gain over broken setups: {s['avg_gain']:+.1%} "
          f"(over the {s['winners']} with a winning remedy: {s['avg_gain_repaired']:+.1%})")
    print(f"first remedy tried was the winner: {s['first_won_share']:.1%} of {s['winners']} repairs; it already "
          f"passed the win criterion in {s['first_qualified_share']:.1%}")
    print("repaired by problem: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in s["by_kind"].items()))
    print(f"healthy setups left untouched: {s['healthy_untouched']:.0%} of {s['healthy']} "
          f"({s['healthy_flagged']} had a warning finding)")
    print(f"time per repair: {s['seconds_per_repair']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--max-trials", type=int, default=5)
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per repair")
    ap.add_argument("--only", nargs="*", help="run only these setups")
    ap.add_argument("--out", default="out/bench_repair.json")
    ap.add_argument("--summarise", metavar="JSON", help="print the tables of an earlier run's JSON and exit")
    args = ap.parse_args(argv)
    if args.summarise:
        rows = json.loads(Path(args.summarise).read_text())["rows"]
        for r in rows:
            if "first_qualified" not in r:
                tried = [t for t in r["result"]["trials"] if not t["skipped"]]
                r["first_qualified"] = bool(tried) and tried[0]["gain"] is not None and tried[0]["margin"] is not None \
                    and tried[0]["gain"] > tried[0]["margin"] and tried[0]["fixes"] is not False
        print_table(rows, summarise(rows))
        return 0
    torch.set_num_threads(1)
    chosen = [s for s in SETUPS if not args.only or s.name in args.only]
    rows = []
    for s in chosen:
        r = run_setup(s, args.seeds, args.max_trials, args.budget)
        rows.append(r)
        print(f"  {s.name}: {r['baseline']:.3f} -> {r['final']:.3f} (ref {r['reference']:.3f}) "
              f"winner {r['winner']} [{r['seconds']:.0f} s]", flush=True)
    summary = summarise(rows)
    print()
    print_table(rows, summary)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "rows": rows, "settings": vars(args)}, indent=1, default=str))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
