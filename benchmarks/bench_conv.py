"""A small conv2d's forward + backward against PyTorch's: batch 8, 3 -> 16 channels, 32x32, kernel 3,
padding 1, float32. Two cases: the gradients of the weight and the bias (a network's first layer;
what a tl.compile step computes, as it differentiates parameters only), and those of the input too
(a layer further in). Interleaved rounds, medians.

    python benchmarks/bench_conv.py [--rounds 30] [--threads 1] [--medium]

``--medium``: batch 32, 16 -> 32 channels (the windows' index then holds 4.7 million entries, 38 MB).
``--pools``: max_pool2d (kernel 2; kernel 3, stride 2, padding 1) and avg_pool2d (kernel 3, stride 2,
padding 1) of an (8, 16, 32, 32) input instead, the input's gradient.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--medium", action="store_true", help="batch 32, 16 -> 32 channels")
    parser.add_argument("--pools", action="store_true", help="max_pool2d and avg_pool2d instead")
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)

    import numpy as np
    import torch

    import tinygrad_lstm as tl
    import tinygrad_lstm.nn.functional as F

    torch.set_num_threads(args.threads)
    if args.pools:
        return pools(args.rounds)
    rng = np.random.default_rng(0)
    n, c, o = (32, 16, 32) if args.medium else (8, 3, 16)
    x = rng.standard_normal((n, c, 32, 32)).astype(np.float32)
    w = (rng.standard_normal((o, c, 3, 3)) * 0.2).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    g = rng.standard_normal((n, o, 32, 32)).astype(np.float32)

    xo, wo, bo = (tl.Tensor(a.copy(), requires_grad=True) for a in (x, w, b))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    weight, bias = tl.nn.Parameter(w.copy()), tl.nn.Parameter(b.copy())
    step = tl.compile(lambda x: (F.conv2d(x, weight, bias, padding=1) * g).sum())

    def ours() -> None:
        xo.grad = wo.grad = bo.grad = None
        (F.conv2d(xo, wo, bo, padding=1) * g).sum().backward()

    def ours_weights() -> None:
        wo.grad = bo.grad = None
        (F.conv2d(tl.Tensor(x), wo, bo, padding=1) * g).sum().backward()

    def replay() -> None:  # a compiled step differentiates its parameters only
        weight.grad = bias.grad = None
        step(tl.Tensor(x)).backward()

    def theirs() -> None:
        xt.grad = wt.grad = bt.grad = None
        (torch.nn.functional.conv2d(xt, wt, bt, padding=1) * torch.from_numpy(g)).sum().backward()

    def theirs_weights() -> None:
        wt.grad = bt.grad = None
        (torch.nn.functional.conv2d(torch.from_numpy(x), wt, bt, padding=1) * torch.from_numpy(g)).sum().backward()

    ours(), theirs(), replay()
    for got, want in ((xo.grad.data, xt.grad), (wo.grad.data, wt.grad), (bo.grad.data, bt.grad)):
        assert np.allclose(got, want.numpy(), rtol=1e-3, atol=1e-3 * np.abs(want.numpy()).max())
    cases = {
        "weight, bias: eager": ours_weights,
        "weight, bias: tl.compile": replay,
        "weight, bias: torch": theirs_weights,
        "input too: eager": ours,
        "input too: torch": theirs,
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    gc.disable()
    for _ in range(args.rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    gc.enable()
    for name, ts in times.items():
        base = statistics.median(times[name.split(":")[0] + ": torch"])
        median = statistics.median(ts)
        print(f"{name:26s} {median * 1e3:7.2f} ms  ({median / base:.2f}x torch)")


def pools(rounds: int) -> None:
    import numpy as np
    import torch

    import tinygrad_lstm as tl
    import tinygrad_lstm.nn.functional as F

    x = np.random.default_rng(0).standard_normal((8, 16, 32, 32)).astype(np.float32)
    ours, theirs = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cases = {
        "max_pool2d(2)": lambda f, t: f.max_pool2d(t, 2),
        "max_pool2d(3, 2, 1)": lambda f, t: f.max_pool2d(t, 3, 2, 1),
        "avg_pool2d(3, 2, 1)": lambda f, t: f.avg_pool2d(t, 3, 2, 1),
    }
    for name, pool in cases.items():
        times: dict[str, list[float]] = {"ours": [], "torch": []}
        gc.disable()
        for _ in range(rounds):
            for who, f, t in (("ours", F, ours), ("torch", torch.nn.functional, theirs)):
                start = time.perf_counter()
                t.grad = None
                pool(f, t).sum().backward()
                times[who].append(time.perf_counter() - start)
        gc.enable()
        a, b = statistics.median(times["ours"]), statistics.median(times["torch"])
        print(f"{name:22s} eager {a * 1e3:6.2f} ms, torch {b * 1e3:6.2f} ms ({a / b:.2f}x)")


if __name__ == "__main__":
    main()
