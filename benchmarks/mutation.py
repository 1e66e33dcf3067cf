"""Mutation testing: change the engine one small edit at a time and check that a test fails.

    pip install ".[test,mutation]"
    python benchmarks/mutation.py                        # every target, resuming where the last run stopped
    python benchmarks/mutation.py --files primitives --functions '*_vjp*' --minutes 30
    python benchmarks/mutation.py --report               # the score so far, and the survivors

It wraps mutmut (configured in pyproject.toml, [tool.mutmut]): mutmut copies the package into
mutants/, writes every mutant of a function beside the original, and runs, for each mutant, only
the tests of the fast subset that call that function, stopping at the first failure. Results are
kept in mutants/, so a run stopped by --minutes (or Ctrl-C) resumes; --rerun checks the selected
mutants again (after adding a test). `mutmut show NAME` prints a mutant's diff. Not part of the
test suite: a full run over all five targets takes hours on 2 cores (README, Testing).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "primitives": "tinygrad_lstm.primitives.",
    "ops": "tinygrad_lstm.ops.",
    "backward": "tinygrad_lstm.backward.",
    "cells": "tinygrad_lstm.nn.cells.",
    "compiler": "tinygrad_lstm.compiler.",
}
# one module of the compiler at a time (its 2,463 mutants take hours): --files compiler.program
MODULES = {f"compiler.{m}": f"tinygrad_lstm.compiler.{m}." for m in ("program", "step", "guards", "kernels", "fusion")}


def selected(name: str, files: list[str], functions: list[str]) -> bool:
    if not any(name.startswith({**TARGETS, **MODULES}[f]) for f in files):
        return False
    function = name.rpartition(".")[2].rpartition("__mutmut_")[0]  # x__clip_vjp, xǁIndexedGradǁadd_into
    # mutmut names a function x_NAME, and a method xǁCLASSǁNAME
    names = (function, function[2:], function[2:].replace("ǁ", "."))  # ProgramWriter.write_backward
    return not functions or any(fnmatch.fnmatchcase(n, g) for g in functions for n in names)


def results() -> dict[str, int | None]:
    """Every mutant's exit code so far (None: not run yet), from mutmut's files in mutants/."""
    codes: dict[str, int | None] = {}
    for meta in sorted((ROOT / "mutants" / "tinygrad_lstm").rglob("*.py.meta")):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def report(files: list[str], functions: list[str]) -> int:
    from mutmut.stats import status_by_exit_code

    codes = {k: v for k, v in results().items() if selected(k, files, functions)}
    if not codes:
        print("no mutants yet: run without --report first")
        return 1
    columns = ("mutants", "run", "killed", "timeout", "survived", "no test", "score")
    print(f"{'target':16}" + "".join(f" {c:>8}" for c in columns))
    survivors = []
    for target in files:
        mine = {k: v for k, v in codes.items() if k.startswith({**TARGETS, **MODULES}[target])}
        status = [status_by_exit_code[v] for v in mine.values()]
        killed, timeout, survived = status.count("killed"), status.count("timeout"), status.count("survived")
        untested = status.count("no tests")
        run = len(status) - status.count("not checked")
        # a timeout is a detection too: the mutant made a test hang
        score = (killed + timeout) / max(1, killed + timeout + survived)
        print(
            f"{target:16}" + "".join(f" {n:8}" for n in (len(mine), run, killed, timeout, survived, untested)), end=""
        )
        print(f" {score:8.1%}")
        survivors += [k for k, v in mine.items() if status_by_exit_code[v] == "survived"]
    print(f"{len(survivors)} survivors (mutmut show NAME):")
    for name in sorted(survivors):
        print("  " + name)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", nargs="+", choices=sorted({**TARGETS, **MODULES}), default=list(TARGETS),
                    help="targets to mutate: a file, or one module of the compiler")  # fmt: skip
    ap.add_argument("--functions", nargs="+", default=[], metavar="GLOB",
                    help="only these functions, by name: '_clip_vjp', '*_vjp', 'IndexedGrad*'")  # fmt: skip
    ap.add_argument("--minutes", type=float, default=0, help="stop after this long; the next run resumes")
    ap.add_argument("--rerun", action="store_true", help="run the selected mutants again, even if they have a result")
    ap.add_argument(
        "--survivors",
        action="store_true",
        help="run the selected survivors, and those no test reached, again (after a new test)",
    )
    ap.add_argument("--timeouts", action="store_true", help="run the selected mutants that timed out again")
    ap.add_argument("--workers", type=int, default=1, help="mutants run at once (default 1: the machine is shared)")
    ap.add_argument("--report", action="store_true", help="only print the score so far and the survivors")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    if args.report:
        return report(args.files, args.functions)

    os.nice(10)  # a background job: the engineers' own tests come first
    for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(threads, "1")  # one core per worker, and no thread pool to fork
    # Hypothesis saves the examples that failed under one mutant and replays them first under the next
    # and in the clean run: one that PyTorch and the engine disagree on by overflow would fail them all
    shutil.rmtree(ROOT / "mutants" / ".hypothesis", ignore_errors=True)
    import mutmut.__main__ as mm

    original = mm.collect_source_file_mutation_data
    todo = [0]

    def only_ours(*, mutant_names):
        mutants, by_path = original(mutant_names=mutant_names)
        picked = [(m, k, r) for m, k, r in mutants if selected(k, args.files, args.functions)]
        if args.survivors:  # mutmut's exit codes: 0, no test failed; 33, no selected test called it
            picked = [(m, k, None) for m, k, r in picked if r in (0, 33)]
        elif args.timeouts:  # killed by the time limit (-24: SIGXCPU), which a busy machine can hit
            picked = [(m, k, None) for m, k, r in picked if r == -24]
        elif args.rerun:
            picked = [(m, k, None) for m, k, _ in picked]
        todo[0] = sum(r is None for _, _, r in picked)
        print(f"    {len(picked)} mutants selected, {todo[0]} to run")
        return picked, by_path

    mm.collect_source_file_mutation_data = only_ours

    stopped = [False]

    def stop(*_):
        stopped[0] = True
        raise KeyboardInterrupt  # mutmut then stops its workers; every finished mutant's result is kept

    # also when started in the background, where a shell leaves SIGINT ignored
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        signal.signal(sig, stop)
    if args.minutes:
        signal.alarm(int(args.minutes * 60))
    start = time.perf_counter()
    try:
        mm._run((), args.workers)
    except SystemExit as e:
        if e.code:
            return int(e.code) if isinstance(e.code, int) else 1
    except KeyboardInterrupt:
        pass  # before mutmut's own loop caught it
    finally:
        signal.alarm(0)
    minutes = (time.perf_counter() - start) / 60
    if stopped[0] or not todo[0]:
        print(f"\nstopped after {minutes:.1f} min; run again to go on")
    else:  # wall clock, with mutant generation, the stats run and the clean run
        print(f"\nran {todo[0]} mutants in {minutes:.1f} min, {minutes * 60 / todo[0]:.1f} s each")
    return report(args.files, args.functions)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # --report | head
        sys.exit(141)
