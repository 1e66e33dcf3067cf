"""An LSTM train step on a quiet machine and beside two busy processes, under three BLAS thread rules.

    python benchmarks/bench_load.py            # small, medium and large
    python benchmarks/bench_load.py --quick    # small and medium, fewer rounds

The busy processes are Python loops (``while True: pass``), one per core this machine has beyond the
first... and at least two: what a browser and a second job do to a laptop. The rules:

- ``engine``: the engine's default: one BLAS thread while products find the machine busy (``tl.blas``);
- ``numpy``: every product may use every BLAS thread, as plain NumPy does (``tl.blas.watch = False``);
- ``1 thread``: every product on one thread (``threadpoolctl.threadpool_limits(1)``).

Quiet and loaded runs alternate round by round, so they share the machine's slower drifts. The target
(issue 15): a loaded step takes at most about 3x the quiet step under the engine's default rule.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
from bench_lstm import SIZES, make_peers
from threadpoolctl import threadpool_limits

import tinygrad_lstm as tl

RULES = ("engine", "numpy", "1 thread")


def timed(step, rule: str, steps: int) -> list[float]:
    tl.blas.watch = rule != "numpy"
    limits = threadpool_limits(1, user_api="blas") if rule == "1 thread" else None
    try:
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return times
    finally:
        if limits is not None:
            limits.restore_original_limits()
        tl.blas.watch = True


def busy(count: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    time.sleep(0.5)  # let them reach the scheduler's steady state
    return procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default=None, help="comma-separated, e.g. small,large")
    args = parser.parse_args()
    sizes = args.sizes.split(",") if args.sizes else (["small", "medium"] if args.quick else list(SIZES))
    rounds = 2 if args.quick else 4
    competitors = max(2, (os.cpu_count() or 1))
    print(f"{os.cpu_count()} cores, {competitors} busy processes when loaded; median ms per step")
    for size in sizes:
        T, B, I, H = SIZES[size]
        peers = make_peers(T, B, I, H, only_ours=True)
        step = peers["tinygrad_lstm"]
        steps = {"small": 15, "medium": 5, "large": 2}[size]
        times: dict = {(load, rule): [] for load in ("quiet", "loaded") for rule in RULES}
        stalls = dict.fromkeys(times, 0)
        step()
        for _ in range(rounds):
            for load in ("quiet", "loaded"):
                procs = busy(competitors) if load == "loaded" else []
                try:
                    for rule in RULES:
                        before = tl.blas.stalls
                        times[load, rule] += timed(step, rule, steps)
                        stalls[load, rule] += tl.blas.stalls - before
                finally:
                    for p in procs:
                        p.kill()
                        p.wait()
        median = {key: float(np.median(ts)) * 1e3 for key, ts in times.items()}
        quiet = median["quiet", "engine"]
        print(f"\n{size}: T={T} B={B} I={I} H={H}, eager train step")
        header = f"{'rule':10}{'quiet ms':>10}{'loaded ms':>11}{'loaded / quiet engine':>24}"
        print(f"  {header}{'stalls quiet, loaded':>22}")
        for rule in RULES:
            q, loaded = median["quiet", rule], median["loaded", rule]
            seen = f"{stalls['quiet', rule]}, {stalls['loaded', rule]}" if rule == "engine" else ""
            print(f"  {rule:10}{q:>10.1f}{loaded:>11.1f}{loaded / quiet:>23.1f}x{seen:>22}", flush=True)


if __name__ == "__main__":
    main()
