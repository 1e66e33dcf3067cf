"""The price of checkpointed BPTT: time and memory of one LSTM training step (forward and backward)
with ``checkpoint_every = sqrt(T)`` against none, the same chunking both ways. Memory is what the tape
keeps between forward and backward, and the peak traced by ``tracemalloc`` over the whole step.
Run: ``python benchmarks/bench_checkpoint.py`` (best of 5; 1 BLAS thread recommended)."""

import time
import tracemalloc

import numpy as np

import tinygrad_lstm as tl


def step(T: int, every: int | None, chunk: int, batch: int = 32, hidden: int = 64) -> tuple[float, int, int]:
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(32, hidden)
    lstm.projection_chunk, lstm.checkpoint_every = chunk, every
    x = tl.tensor(np.random.default_rng(0).standard_normal((T, batch, 32)).astype(np.float32))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        with tl.Tape() as tape:
            out, _ = lstm(x)
            loss = out[-1].sum()
        kept = sum(e.saved_nbytes for e in tape.entries)
        loss.backward()
        best = min(best, time.perf_counter() - start)
        lstm.zero_grad()
    tracemalloc.start()
    out, _ = lstm(x)
    out[-1].sum().backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, kept, peak


def main() -> None:
    for T in (64, 256, 1024):
        k = int(np.sqrt(T))
        t0, kept0, peak0 = step(T, None, k)
        t1, kept1, peak1 = step(T, k, k)
        print(
            f"T={T:5d} k={k:3d}: step {t0 * 1e3:7.1f} -> {t1 * 1e3:7.1f} ms (x{t1 / t0:.2f}), kept "
            f"{kept0 / 1e6:6.2f} -> {kept1 / 1e6:5.3f} MB, peak {peak0 / 1e6:6.2f} -> {peak1 / 1e6:5.2f} MB"
        )


if __name__ == "__main__":
    main()
