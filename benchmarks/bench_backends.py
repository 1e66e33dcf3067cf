"""tl.compile's two backends on one small LSTM train step: the NumPy replay and numba's fused kernels.

    python benchmarks/bench_backends.py                 # time per replay, interleaved, one BLAS thread
    python benchmarks/bench_backends.py --first-call    # a fresh process's first calls, cold then warm cache
    python benchmarks/bench_backends.py --steps N --backend numba   # N replays, for an instruction counter
    python benchmarks/bench_backends.py --callgrind     # instructions per step: eager, numpy, numba (valgrind)

The step: LSTM T=50, B=32, I=32, H=64, float32, loss = mean of the squared outputs, forward and
backward. Both backends give the same bits (tests/test_compile.py); this measures what the kernels save.
"""

import os
import sys

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

T, B, I, H = 50, 32, 32, 64


def make_step(backend: str):
    """One train step: ``backend`` "numpy" or "numba" replays through tl.compile, "eager" runs the engine."""
    import tinygrad_lstm as tl

    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(I, H)

    def loss_of(x):
        out, _ = lstm(x)
        return (out * out).mean()

    step = loss_of if backend == "eager" else tl.compile(loss_of, backend=backend)

    def run():
        lstm.zero_grad()
        step(x).backward()
        return lstm.weight_hh_l0.grad.data

    run.step = step  # type: ignore[attr-defined] - for profile_replay.py
    return run


def interleaved(repeats: int) -> None:
    runs = {backend: make_step(backend) for backend in ("numpy", "numba")}
    grads = {backend: [run(), run()][1].copy() for backend, run in runs.items()}  # record, then replay once
    assert np.array_equal(grads["numpy"], grads["numba"]), "the backends disagree"
    times: dict = {backend: [] for backend in runs}
    for _ in range(repeats):
        for backend, run in runs.items():
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            run()
            times[backend].append(time.perf_counter() - start)
            gc.enable()
    med = {b: float(np.median(ts)) * 1e3 for b, ts in times.items()}
    print(f"median ms per replay (forward + backward), {repeats} interleaved rounds, 1 BLAS thread:")
    for b, m in med.items():
        print(f"  {b:6s} {m:7.3f} ms")
    print(f"  numba / numpy: {med['numba'] / med['numpy']:.3f}x")


def first_calls(backend: str) -> None:
    """In a fresh process: import, record (first call and its eager backward), then the first
    replay (where numba compiles or loads each kernel) and a second one, timed apart."""
    import tinygrad_lstm as tl  # noqa: F401 - the import is not part of the first call

    start = time.perf_counter()
    run = make_step(backend)
    run()
    recorded = time.perf_counter()
    run()
    first_replay = time.perf_counter()
    run()
    second_replay = time.perf_counter()
    print(
        f"record {recorded - start:.3f} s, first replay {first_replay - recorded:.3f} s, "
        f"second replay {second_replay - first_replay:.4f} s, first two calls {first_replay - start:.3f} s"
    )


def callgrind() -> None:
    """Instructions per step for each backend: callgrind's count for 6 steps minus 1 step, over 5 (what
    both runs share, start-up and recording, cancels). The kernel cache is warmed first, under
    valgrind: its virtual CPU lacks AVX-512, so numba compiles each kernel again for it."""
    for backend in ("eager", "numpy", "numba"):
        counts = []
        for steps in (0, 1, 6):  # 0: the warm-up, not counted
            with tempfile.TemporaryDirectory() as out:
                command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.out"]
                command += [sys.executable, __file__, "--steps", str(max(steps, 1)), "--backend", backend]
                subprocess.run(command, check=True, capture_output=True)
                with open(f"{out}/cg.out") as f:
                    counts.append(int(next(line for line in f if line.startswith("summary:")).split()[1]))
        print(f"{backend:6s} {(counts[2] - counts[1]) / 5 / 1e6:7.2f}M instructions per step")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--first-call", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--backend", default="numba", choices=["eager", "numpy", "numba"])
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    if args.child:
        first_calls(args.backend)
    elif args.first_call:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, TINYGRAD_LSTM_CACHE=cache)
            for label, backend in [("numpy", "numpy"), ("numba, cold cache", "numba")] + [
                ("numba, warm cache", "numba")
            ] * 2:
                command = [sys.executable, __file__, "--child", "--backend", backend]
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                print(f"{label}: {done.stdout.strip()}")
    elif args.callgrind:
        callgrind()
    elif args.steps:
        run = make_step(args.backend)
        for _ in range(args.steps + 1):  # the first call records
            run()
    else:
        interleaved(args.repeats)


if __name__ == "__main__":
    main()
