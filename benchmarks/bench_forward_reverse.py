"""When forward mode beats reverse: the Jacobian of x -> tanh(A x) built by reverse mode (one VJP per
output) and by forward mode (one JVP per input), for few inputs and many outputs and the other way
round. Run: ``python benchmarks/bench_forward_reverse.py`` (best of 5, 1 BLAS thread recommended)."""

import time

import numpy as np

import tinygrad_lstm as tl


def best_of(fn, reps: int = 5) -> tuple[float, tl.Tensor]:
    best, result = float("inf"), None
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def compare(n_in: int, n_out: int, rng: np.random.Generator) -> None:
    a = tl.tensor(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in))
    x = tl.tensor(rng.standard_normal(n_in))

    def f(x):
        return (a @ x).tanh()

    reverse, j_rev = best_of(lambda: tl.jacobian(f, x))
    forward, j_fwd = best_of(lambda: tl.jacobian(f, x, strategy="forward-mode", vectorize=True))
    assert np.allclose(j_rev.data, j_fwd.data, rtol=1e-12, atol=0)
    print(
        f"R^{n_in} -> R^{n_out}: reverse {reverse * 1e3:.1f} ms ({n_out} VJPs), "
        f"forward {forward * 1e3:.1f} ms ({n_in} JVPs), forward / reverse = {forward / reverse:.3g}"
    )


def main() -> None:
    rng = np.random.default_rng(0)
    for n_in, n_out in [(2, 500), (500, 2)]:
        compare(n_in, n_out, rng)


if __name__ == "__main__":
    main()
