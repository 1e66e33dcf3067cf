"""The price of checkpointed BPTT: time and memory of one LSTM training step (forward and backward)
with ``checkpoint_every = sqrt(T)`` against none, the same chunking both ways.

Memory, three ways: what the tape keeps between forward and backward (distinct arrays, the total of
``tl.memory_table``), the most the backward sweep holds at any VJP (``tl.trace_backward(memory=tape)``,
the explorer's memory strip: a checkpointed segment run again holds its arrays until the sweep has
passed it), and the peak traced by ``tracemalloc`` over the whole step. Memory is measured on a run of
its own, so the timed runs pay for no instrument.
Run: ``python benchmarks/bench_checkpoint.py`` (best of 5; 1 BLAS thread recommended)."""

import time
import tracemalloc

import numpy as np

import tinygrad_lstm as tl


def model(T: int, every: int | None, chunk: int, batch: int = 32, hidden: int = 64):
    """The benchmark's LSTM (input 32, float32) and its input, the same for every call."""
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(32, hidden)
    lstm.projection_chunk, lstm.checkpoint_every = chunk, every
    x = tl.tensor(np.random.default_rng(0).standard_normal((T, batch, 32)).astype(np.float32))
    return lstm, x


def memory(T: int, every: int | None, chunk: int, batch: int = 32, hidden: int = 64) -> tuple[int, int]:
    """(bytes kept for backward, as tl.memory_table totals them; most bytes held at any VJP of the sweep)."""
    lstm, x = model(T, every, chunk, batch, hidden)
    with tl.Tape() as tape:
        out, _ = lstm(x)
        loss = out[-1].sum()
    kept = sum(m.nbytes for m in tl.memory_by_step(tape))
    with tl.trace_backward(memory=tape) as trace:
        loss.backward()
    assert trace.memory is not None
    return kept, max(trace.memory.held)


def step(T: int, every: int | None, chunk: int, batch: int = 32, hidden: int = 64) -> tuple[float, int]:
    """(best seconds of 5 training steps, tracemalloc's peak bytes over one)."""
    lstm, x = model(T, every, chunk, batch, hidden)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        out, _ = lstm(x)
        out[-1].sum().backward()
        best = min(best, time.perf_counter() - start)
        lstm.zero_grad()
    tracemalloc.start()
    out, _ = lstm(x)
    out[-1].sum().backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak


def main() -> None:
    for T in (64, 256, 1024):
        k = int(np.sqrt(T))
        (kept0, held0), (kept1, held1) = memory(T, None, k), memory(T, k, k)
        (t0, peak0), (t1, peak1) = step(T, None, k), step(T, k, k)
        print(
            f"T={T:5d} k={k:3d}: step {t0 * 1e3:7.1f} -> {t1 * 1e3:7.1f} ms (x{t1 / t0:.2f}), kept "
            f"{kept0 / 1e6:6.2f} -> {kept1 / 1e6:5.3f} MB, sweep peak {held0 / 1e6:6.2f} -> {held1 / 1e6:5.3f} MB, "
            f"traced peak {peak0 / 1e6:6.2f} -> {peak1 / 1e6:5.2f} MB"
        )


if __name__ == "__main__":
    main()
