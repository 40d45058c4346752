"""Precision/recall per finding kind and run time per case over the corpus; prints the markdown tables of
docs/accuracy.md.   python -m cases.accuracy [SEED ...]   (from tests/; default seed 0)

The kind table sums over every seed given; the per-case table (with seconds) is for the first seed; every
false positive / false negative is listed at the end, with its seed."""
from __future__ import annotations

import collections
import sys

import torch

from . import CASES
from .run import problems, run_check, run_train


def main() -> None:
    seeds = [int(a) for a in sys.argv[1:]] or [0]
    torch.set_num_threads(1)
    tp: collections.Counter = collections.Counter()
    fp: collections.Counter = collections.Counter()
    fn: collections.Counter = collections.Counter()
    rows = []
    errors: list[str] = []
    jobs = [(case, seed, mode, runner, expect, allow) for case in CASES for seed in seeds
            for mode, runner, expect, allow in (("check", run_check, case.expect, case.allow),
                                                ("train", run_train, case.expect_train, case.allow_train))
            if expect is not None]
    for case, seed, mode, runner, expect, allow in jobs:
        diag, secs = runner(case, seed)
        found = problems(diag)
        for k in set(expect) | found:
            if k in expect and k in found:
                tp[k] += 1
            elif k in expect:
                fn[k] += 1
                errors.append(f"FN {k}: {case.name} {mode} seed {seed}")
            elif k not in allow:
                fp[k] += 1
                errors.append(f"FP {k}: {case.name} {mode} seed {seed}")
        if seed == seeds[0]:
            rows.append((case.name, case.family, mode, ", ".join(sorted(expect)) or "(healthy)",
                         ", ".join(sorted(found)) or "-", secs))
    print("| kind | TP | FP | FN | precision | recall |")
    print("|---|---|---|---|---|---|")
    for k in sorted(set(tp) | set(fp) | set(fn)):
        p = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else float("nan")
        r = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else float("nan")
        print(f"| {k} | {tp[k]} | {fp[k]} | {fn[k]} | {p:.2f} | {r:.2f} |")
    print()
    print("| case | family | mode | expected | found (warning/critical) | seconds |")
    print("|---|---|---|---|---|---|")
    for name, fam, mode, exp, found, secs in rows:
        print(f"| {name} | {fam} | {mode} | {exp} | {found} | {secs:.2f} |")
    print()
    print(f"Errors over seeds {', '.join(map(str, seeds))} ({len(jobs)} runs): {len(errors) or 'none'}")
    for e in errors:
        print(f"- {e}")


if __name__ == "__main__":
    main()
