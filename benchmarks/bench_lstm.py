"""LSTM train step (forward + backward) against peers, interleaved in one run, medians over repeats.

    python benchmarks/bench_lstm.py                # every size, T scaling and memory, 2 BLAS threads
    python benchmarks/bench_lstm.py --threads 1    # every peer on one thread (and one core)
    python benchmarks/bench_lstm.py --quick        # fewer repeats, small and medium only

Every peer computes the same thing: the loss mean(h_t^2) over all outputs and its gradient with
respect to the weights and biases (not the input; no peer is asked for it), checked to agree before
timing. Peers: two hand-written NumPy LSTMs (a plain forward + BPTT, and a fast one: in-place
arithmetic, the three sigmoid gates in one block, each weight's gradient one product over all steps),
and when importable PyTorch's fused nn.LSTM, the same cell composed of torch ops in a Python loop,
JAX (jit of grad over lax.scan) and HIPS autograd. The machine is shared and noisy: read the ratios,
not the absolute times.
"""

from __future__ import annotations

import argparse
import os
import sys


def _threads_from_argv(default: int = 2) -> int:
    """``--threads`` is read before NumPy, PyTorch or JAX load, since some read it only then."""
    for k, arg in enumerate(sys.argv):
        if arg == "--threads" and k + 1 < len(sys.argv):
            return int(sys.argv[k + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return default


THREADS = _threads_from_argv()
if __name__ == "__main__":
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(THREADS)
    if THREADS == 1:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    if hasattr(os, "sched_setaffinity") and THREADS < len(os.sched_getaffinity(0)):
        # the only limit every peer obeys (JAX's own thread pool ignores the flags above)
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:THREADS])

import gc  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_lstm as tl  # noqa: E402
from tinygrad_lstm.compiler import kernels  # noqa: E402

SIZES = {  # T, B, I, H
    "small": (50, 32, 32, 64),
    "medium": (100, 32, 128, 256),
    "large": (50, 64, 512, 1024),
}


# ---- the peers -------------------------------------------------------------------------------------


def numpy_lstm_step(x, W, U, b, dy_scale):
    """Hand-written LSTM forward and BPTT in NumPy, PyTorch's gate order (i, f, g, o), written plainly.

    W (4H, I), U (4H, H), b (4H,); loss = mean(h_t^2) over all outputs. Returns the gradients
    (dW, dU, db) and the bytes of the cache the backward pass reads (what BPTT must keep).
    """
    T, B, _ = x.shape
    H = U.shape[1]
    xp = (x.reshape(T * B, -1) @ W.T + b).reshape(T, B, 4 * H)
    h = np.zeros((B, H), x.dtype)
    c = np.zeros((B, H), x.dtype)
    cache = []
    hs = np.empty((T, B, H), x.dtype)
    for t in range(T):
        gates = xp[t] + h @ U.T
        ifo = 0.5 * np.tanh(0.5 * gates[:, np.r_[0 : 2 * H, 3 * H : 4 * H]]) + 0.5
        i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 2 * H :]
        g = np.tanh(gates[:, 2 * H : 3 * H])
        c_prev, h_prev = c, h
        c = f * c_prev + i * g
        tc = np.tanh(c)
        h = o * tc
        hs[t] = h
        cache.append((i, f, g, o, c_prev, tc, h_prev))
    dhs = hs * dy_scale
    dW = np.zeros_like(W)
    dU = np.zeros_like(U)
    dxp = np.empty_like(xp)
    dh_next = np.zeros((B, H), x.dtype)
    dc_next = np.zeros((B, H), x.dtype)
    for t in range(T - 1, -1, -1):
        i, f, g, o, c_prev, tc, h_prev = cache[t]
        dh = dhs[t] + dh_next
        do = dh * tc
        dc = dh * o * (1 - tc * tc) + dc_next
        di, df, dg = dc * g, dc * c_prev, dc * i
        dc_next = dc * f
        dgates = dxp[t]
        dgates[:, :H] = di * i * (1 - i)
        dgates[:, H : 2 * H] = df * f * (1 - f)
        dgates[:, 2 * H : 3 * H] = dg * (1 - g * g)
        dgates[:, 3 * H :] = do * o * (1 - o)
        dU += dgates.T @ h_prev
        dh_next = dgates @ U
    flat = dxp.reshape(T * B, 4 * H)
    dW += flat.T @ x.reshape(T * B, -1)
    db = flat.sum(axis=0)
    kept = sum(a.nbytes for step in cache for a in step) + x.nbytes
    return (dW, dU, db), kept


def fast_numpy_lstm(x, W, U, b, dy_scale):
    """The same step written for speed: gates reordered (i, f, o, g) so one sigmoid covers three,
    in-place arithmetic into buffers made once per call, and each weight's gradient one product over
    all steps. Returns (dW, dU, db) in PyTorch's gate order."""
    T, B, I = x.shape
    H = U.shape[1]
    order = np.r_[0 : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H]  # i, f, o, g
    Wr, Ur, br = W[order], U[order], b[order]
    z = (x.reshape(T * B, I) @ Wr.T + br).reshape(T, B, 4 * H)  # pre-activations, then activations
    hs = np.zeros((T + 1, B, H), x.dtype)  # hs[t + 1] is h_t
    cs = np.zeros((T + 1, B, H), x.dtype)
    tcs = np.empty((T, B, H), x.dtype)
    UrT = np.ascontiguousarray(Ur.T)
    tmp = np.empty((B, H), x.dtype)
    for t in range(T):
        zt = z[t]
        zt += hs[t] @ UrT
        sig = zt[:, : 3 * H]  # sigmoid(v) = 0.5 tanh(v / 2) + 0.5, in place
        sig *= 0.5
        np.tanh(sig, out=sig)
        sig *= 0.5
        sig += 0.5
        np.tanh(zt[:, 3 * H :], out=zt[:, 3 * H :])
        i, f, o, g = zt[:, :H], zt[:, H : 2 * H], zt[:, 2 * H : 3 * H], zt[:, 3 * H :]
        np.multiply(f, cs[t], out=cs[t + 1])
        np.multiply(i, g, out=tmp)
        cs[t + 1] += tmp
        np.tanh(cs[t + 1], out=tcs[t])
        np.multiply(o, tcs[t], out=hs[t + 1])
    dz = np.empty_like(z)
    dh = np.zeros((B, H), x.dtype)
    dc = np.zeros((B, H), x.dtype)
    for t in range(T - 1, -1, -1):
        zt, dzt, tc = z[t], dz[t], tcs[t]
        i, f, o, g = zt[:, :H], zt[:, H : 2 * H], zt[:, 2 * H : 3 * H], zt[:, 3 * H :]
        di, df, do, dg = dzt[:, :H], dzt[:, H : 2 * H], dzt[:, 2 * H : 3 * H], dzt[:, 3 * H :]
        dh += hs[t + 1] * dy_scale  # the loss's gradient of h_t joins what came back from t + 1
        np.multiply(dh, tc, out=do)  # dL/do, then through o's sigmoid below
        np.multiply(tc, tc, out=tmp)  # dc += dh * o * (1 - tanh(c)^2)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        np.multiply(dc, g, out=di)
        np.multiply(dc, cs[t], out=df)
        np.multiply(dc, i, out=dg)
        dc *= f
        s = zt[:, : 3 * H]  # every sigmoid gate at once: d *= s (1 - s)
        ds = dzt[:, : 3 * H]
        ds *= s
        ds -= ds * s
        np.multiply(g, g, out=tmp)  # dg *= 1 - g^2
        np.subtract(1, tmp, out=tmp)
        dg *= tmp
        np.matmul(dzt, Ur, out=dh)
    flat = dz.reshape(T * B, 4 * H)
    dW = np.empty_like(W)
    dU = np.empty_like(U)
    db = np.empty_like(b)
    dW[order] = flat.T @ x.reshape(T * B, I)
    dU[order] = flat.T @ hs[:-1].reshape(T * B, H)
    db[order] = flat.sum(axis=0)
    return dW, dU, db


def make_peers(T, B, I, H, seed=0, only_ours=False):
    """name -> a callable running one train step and returning (dW_ih, dW_hh, db), PyTorch's layout.

    ``only_ours``: the engine and the two NumPy LSTMs only, without loading PyTorch, JAX or autograd."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    tl.manual_seed(seed)
    ours = tl.nn.LSTM(I, H)
    W, U = ours.weight_ih_l0.data, ours.weight_hh_l0.data
    b = ours.bias_ih_l0.data + ours.bias_hh_l0.data
    scale = np.float32(2.0 / (T * B * H))
    peers = {}
    xt = tl.Tensor(x)

    def loss_of(x):  # the same step for eager and replay: nothing but the loss outlives it
        out, _ = ours(x)
        return (out * out).mean()

    def train_step(step, inputs):
        def run():
            ours.zero_grad()
            step(inputs).backward()
            return ours.weight_ih_l0.grad, ours.weight_hh_l0.grad, ours.bias_ih_l0.grad

        return run

    peers["tinygrad_lstm"] = train_step(loss_of, xt)
    peers["tl.compile replay"] = train_step(tl.compile(loss_of, backend="numpy"), x)
    if not only_ours and kernels.available():  # the same replay with its elementwise chains as numba kernels
        peers["replay, numba"] = train_step(tl.compile(loss_of, backend="numba"), x)
    peers["numpy BPTT"] = lambda: numpy_lstm_step(x, W, U, b, scale)[0]
    peers["fast numpy"] = lambda: fast_numpy_lstm(x, W, U, b, scale)
    if only_ours:
        return peers

    try:
        import torch

        torch.set_num_threads(THREADS)
        tm = torch.nn.LSTM(I, H)
        with torch.no_grad():
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                getattr(tm, name).copy_(torch.from_numpy(getattr(ours, name).data))
        tx = torch.tensor(x)

        def torch_fused():
            tm.zero_grad(set_to_none=True)
            out, _ = tm(tx)
            (out * out).mean().backward()
            return tm.weight_ih_l0.grad, tm.weight_hh_l0.grad, tm.bias_ih_l0.grad

        tW = torch.tensor(W, requires_grad=True)
        tU = torch.tensor(U, requires_grad=True)
        tb = torch.tensor(b, requires_grad=True)

        def torch_composed():
            for p in (tW, tU, tb):
                p.grad = None
            h = torch.zeros(B, H)
            c = torch.zeros(B, H)
            xp = (tx.reshape(T * B, I) @ tW.T + tb).reshape(T, B, 4 * H)
            outs = []
            for t in range(T):
                i, f, g, o = (xp[t] + h @ tU.T).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outs.append(h)
            out = torch.stack(outs)
            (out * out).mean().backward()
            return tW.grad, tU.grad, tb.grad

        peers["torch fused"] = torch_fused
        peers["torch composed"] = torch_composed
    except ImportError:
        pass

    try:
        import jax
        import jax.numpy as jnp

        def jax_loss(Wj, Uj, bj, xj):
            def cell(carry, xpt):
                h, c = carry
                i, f, g, o = jnp.split(xpt + h @ Uj.T, 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                h = jax.nn.sigmoid(o) * jnp.tanh(c)
                return (h, c), h

            zeros = jnp.zeros((B, H), jnp.float32)
            _, hs = jax.lax.scan(cell, (zeros, zeros), xj @ Wj.T + bj)
            return jnp.mean(hs * hs)

        jax_step = jax.jit(jax.grad(jax_loss, argnums=(0, 1, 2)))
        jW, jU, jb, jx = (jnp.asarray(a) for a in (W, U, b, x))
        peers["JAX"] = lambda: jax.block_until_ready(jax_step(jW, jU, jb, jx))
    except ImportError:
        pass

    try:
        import autograd.numpy as anp
        from autograd import grad as ag_grad

        def ag_loss(Wa, Ua, ba):
            h = anp.zeros((B, H), dtype=np.float32)
            c = anp.zeros((B, H), dtype=np.float32)
            xp = anp.reshape(anp.dot(anp.reshape(x, (T * B, I)), Wa.T) + ba, (T, B, 4 * H))
            total = 0.0
            for t in range(T):
                gates = xp[t] + anp.dot(h, Ua.T)
                i = 0.5 * anp.tanh(0.5 * gates[:, :H]) + 0.5
                f = 0.5 * anp.tanh(0.5 * gates[:, H : 2 * H]) + 0.5
                g = anp.tanh(gates[:, 2 * H : 3 * H])
                o = 0.5 * anp.tanh(0.5 * gates[:, 3 * H :]) + 0.5
                c = f * c + i * g
                h = o * anp.tanh(c)
                total = total + anp.sum(h * h)
            return total / (T * B * H)

        ag_step = ag_grad(ag_loss, argnum=(0, 1, 2))
        peers["HIPS autograd"] = lambda: ag_step(W, U, b)
    except ImportError:
        pass
    return peers


def disagreement(peers: dict) -> dict[str, float]:
    """Each peer's largest gradient difference from the plain NumPy BPTT, relative to its largest entry."""
    reference = [np.asarray(g, np.float64) for g in peers["numpy BPTT"]()]
    worst = {}
    for name, fn in peers.items():
        grads = [np.asarray(g.detach().numpy() if hasattr(g, "detach") else g, np.float64) for g in fn()]
        worst[name] = max(float(np.abs(g - r).max() / np.abs(r).max()) for g, r in zip(grads, reference))
    return worst


# ---- measuring ------------------------------------------------------------------------------------------


def measure(peers: dict, repeats: int) -> dict:
    """Median seconds per call, the peers interleaved round by round so they share the noise.

    As ``timeit`` does, the garbage collector is off while a call is timed and runs between calls.
    """
    for fn in peers.values():
        fn()  # warm up (and, for tl.compile, record the program)
    times: dict = {name: [] for name in peers}
    try:
        for _ in range(repeats):
            for name, fn in peers.items():
                gc.collect()
                gc.disable()
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
                gc.enable()
    finally:
        gc.enable()
    return {name: float(np.median(ts)) for name, ts in times.items()}


def peak_memory(fn) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def table(title: str, medians: dict[str, float]) -> str:
    eager, replay = medians["tinygrad_lstm"], medians["tl.compile replay"]
    lines = [f"\n{title}", f"{'':20}{'ms':>10}{'eager / peer':>14}{'replay / peer':>15}"]
    for name, seconds in medians.items():
        lines.append(f"{name:20}{seconds * 1e3:>10.2f}{eager / seconds:>13.2f}x{replay / seconds:>14.2f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2, help="BLAS (and PyTorch, JAX) threads; default 2")
    parser.add_argument("--sizes", default=None, help="comma-separated, e.g. small,large (default: all)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the sequence-length and memory parts")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}, {THREADS} BLAS thread(s)"
    )
    sizes = args.sizes.split(",") if args.sizes else (["small", "medium"] if args.quick else list(SIZES))
    for size in sizes:
        T, B, I, H = SIZES[size]
        peers = make_peers(T, B, I, H)
        worst = disagreement(peers)
        print(f"\n{size}: every peer's gradients agree with the plain NumPy BPTT's to {max(worst.values()):.1e}")
        if max(worst.values()) > 1e-4:
            raise SystemExit(f"peers disagree: {worst}")
        if size == "large":
            peers.pop("HIPS autograd", None)  # minutes per step at this size
        repeats = 3 if (args.quick or size == "large") else 15
        print(table(f"{size}: T={T} B={B} I={I} H={H}, float32, train step", measure(peers, repeats)), flush=True)
    if args.no_scaling:
        return

    print("\nsequence-length scaling (small sizes otherwise): time relative to T=50, and against the NumPy BPTT")
    print("  (every length and peer interleaved in each round, so the ratios share the machine's noise)")
    names = ("tinygrad_lstm", "tl.compile replay", "numpy BPTT")
    lengths = (50, 100, 200, 400, 800)
    runs = {}
    for T in lengths:
        peers = make_peers(T, 32, 32, 64, only_ours=True)
        runs.update({(T, name): peers[name] for name in names})
    m = measure(runs, 3 if args.quick else 15)
    for T in lengths:
        cells = [
            f"{name} {m[T, name] * 1e3:7.1f} ms ({m[T, name] / m[50, name]:4.1f}x T=50)"
            + ("" if name == "numpy BPTT" else f" {m[T, name] / m[T, 'numpy BPTT']:.2f}x numpy")
            for name in names
        ]
        print(f"  T={T:4}: " + "; ".join(cells), flush=True)

    print("\npeak memory of a train step against the bytes BPTT must keep (the NumPy BPTT's cache)")
    for size in sizes:
        T, B, I, H = SIZES[size]
        peers = make_peers(T, B, I, H, only_ours=True)
        x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
        lstm = tl.nn.LSTM(I, H)
        _, kept = numpy_lstm_step(
            x, lstm.weight_ih_l0.data, lstm.weight_hh_l0.data, lstm.bias_ih_l0.data, np.float32(1.0)
        )
        peers["tinygrad_lstm"]()
        peers["tl.compile replay"]()
        peak = peak_memory(peers["tinygrad_lstm"])
        replay_peak = peak_memory(peers["tl.compile replay"])
        numpy_peak = peak_memory(peers["numpy BPTT"])
        print(
            f"  {size}: BPTT must keep {kept / 2**20:.1f} MiB; peak eager {peak / kept:.2f}x, "
            f"replay {replay_peak / kept:.2f}x, the NumPy BPTT's own {numpy_peak / kept:.2f}x"
        )


if __name__ == "__main__":
    main()
