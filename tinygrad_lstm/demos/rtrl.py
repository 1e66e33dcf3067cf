"""RTRL beside BPTT: three ways to get a recurrent net's gradient, on the same tanh RNN and task.

- **Full BPTT** records all T steps and sweeps back once (``loss.backward()``): memory grows like T.
- **Truncated BPTT** cuts the tape every k steps (``detach_state``): memory like k, but the gradient
  ignores every path longer than k steps (an approximation).
- **Real-time recurrent learning** (Williams & Zipser 1989) carries forward the sensitivities
  S_t = dh_t/dtheta of the state to every parameter, so the gradient is ready at the last step with
  nothing recorded: memory independent of T, but S has B * H * (H * H + H * I + H) numbers and each
  step multiplies it by W_hh: about H^4 work per step. For a tanh RNN h_t = tanh(a_t),
  a_t = W_ih x_t + W_hh h_{t-1} + b:

      S_t[i, p] = (1 - h_t[i]^2) * (da_t[i]/dp directly + sum_m W_hh[i, m] S_{t-1}[m, p])

  (Hochreiter & Schmidhuber's 1997 LSTM used a truncated form of this.) RTRL's gradient equals full
  BPTT's to round-off; this demo checks it, then trains with all three and measures memory and time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import nn, optim
from ..instruments.recording import Tape
from ..random import manual_seed
from ..tensor import Tensor
from .run import Run
from .tasks import adding_batch


def make_model(hidden: int, seed: int) -> tuple[nn.RNN, nn.Linear]:
    manual_seed(seed)
    return nn.RNN(2, hidden, dtype=np.float64), nn.Linear(hidden, 1, dtype=np.float64)


def bptt_loss(rnn: nn.RNN, head: nn.Linear, x: np.ndarray, y: np.ndarray, truncate: int | None = None) -> Tensor:
    """MSE of the last step's readout; with ``truncate`` the state is cut from the tape every k steps."""
    h: Any = None  # the state: None, then (output, h_n) from the layer
    for lo in range(0, x.shape[0], truncate or x.shape[0]):
        _, h = rnn(Tensor(x[lo : lo + (truncate or x.shape[0])]), h)
        if truncate and lo + truncate < x.shape[0]:
            h = nn.utils.detach_state(h)
    return nn.functional.mse_loss(head(h[0]), Tensor(y))


def rtrl_gradients(rnn: nn.RNN, head: nn.Linear, x: np.ndarray, y: np.ndarray) -> tuple[float, dict, int]:
    """The loss, every parameter's gradient, and the bytes of sensitivities carried: forward only."""
    w_ih, w_hh = rnn.weight_ih_l0.data, rnn.weight_hh_l0.data
    b = rnn.bias_ih_l0.data + rnn.bias_hh_l0.data
    steps, batch, inputs = x.shape
    hidden = w_hh.shape[0]
    eye = np.eye(hidden)
    h = np.zeros((batch, hidden))
    s_hh = np.zeros((batch, hidden, hidden, hidden))  # dh[b, i] / dW_hh[j, k]
    s_ih = np.zeros((batch, hidden, hidden, inputs))  # dh[b, i] / dW_ih[j, k]
    s_b = np.zeros((batch, hidden, hidden))  # dh[b, i] / db[j]
    for t in range(steps):
        h_new = np.tanh(x[t] @ w_ih.T + h @ w_hh.T + b)
        d = (1 - h_new**2)[:, :, None]  # tanh' at a_t, per unit i
        s_hh = d[..., None] * (np.einsum("ij,bk->bijk", eye, h) + np.einsum("im,bmjk->bijk", w_hh, s_hh))
        s_ih = d[..., None] * (np.einsum("ij,bk->bijk", eye, x[t]) + np.einsum("im,bmjk->bijk", w_hh, s_ih))
        s_b = d * (eye[None] + np.einsum("im,bmj->bij", w_hh, s_b))
        h = h_new
    assert head.bias is not None  # nn.Linear's default bias=True
    out = h @ head.weight.data.T + head.bias.data
    loss = float(((out - y) ** 2).mean())
    d_out = 2 * (out - y) / out.size  # dL/d out
    d_h = d_out @ head.weight.data  # dL/dh_T
    grads = {
        "weight_hh_l0": np.einsum("bi,bijk->jk", d_h, s_hh),
        "weight_ih_l0": np.einsum("bi,bijk->jk", d_h, s_ih),
        "bias_ih_l0": np.einsum("bi,bij->j", d_h, s_b),
        "bias_hh_l0": np.einsum("bi,bij->j", d_h, s_b),
        "head.weight": d_out.T @ h,
        "head.bias": d_out.sum(axis=0),
    }
    return loss, grads, s_hh.nbytes + s_ih.nbytes + s_b.nbytes


def bptt_gradients(rnn, head, x, y, truncate=None) -> tuple[float, dict, int]:
    """The loss, the gradients by (truncated) BPTT, and the bytes the tape saved for backward."""
    rnn.zero_grad()
    head.zero_grad()
    with Tape() as tape:
        loss = bptt_loss(rnn, head, x, y, truncate)
    saved = sum(e.saved_nbytes for e in tape.entries)
    loss.backward()
    grads = {n: p.grad.data.copy() for n, p in rnn.named_parameters()}
    grads.update({f"head.{n}": p.grad.data.copy() for n, p in head.named_parameters()})
    return float(loss), grads, saved


def relative_difference(a: dict, b: dict) -> float:
    return max(float(np.linalg.norm(a[k] - b[k]) / max(np.linalg.norm(b[k]), 1e-300)) for k in b)


def train(method: str, steps: int, length: int, hidden: int, seed: int, truncate: int = 5, progress=None) -> list:
    """Adam on the adding problem with gradients from ``method``: bptt, truncated or rtrl."""
    rnn, head = make_model(hidden, seed)
    params = {**dict(rnn.named_parameters()), **{f"head.{n}": p for n, p in head.named_parameters()}}
    opt = optim.Adam(list(params.values()), lr=0.01)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in progress(range(steps), desc=method) if progress else range(steps):
        x, y = adding_batch(32, length, rng, dtype=np.float64)
        if method == "rtrl":
            loss, grads, _ = rtrl_gradients(rnn, head, x, y)
        else:
            loss, grads, _ = bptt_gradients(rnn, head, x, y, truncate if method == "truncated" else None)
        for name, p in params.items():
            p.grad = Tensor(grads[name])
        opt.step()
        losses.append(loss)
    return losses


def per_step_cost(method: str, length: int, hidden: int, seed: int) -> tuple[float, int]:
    """(seconds per time step, bytes kept) of one gradient computation, best of 3."""
    rnn, head = make_model(hidden, seed)
    x, y = adding_batch(8, length, np.random.default_rng(seed), dtype=np.float64)
    best, kept = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        _, _, kept = rtrl_gradients(rnn, head, x, y) if method == "rtrl" else bptt_gradients(rnn, head, x, y)
        best = min(best, time.perf_counter() - start)
    return best / length, kept


def run(run: Run) -> dict:
    length, hidden, steps = (8, 6, 60) if run.quick else (20, 16, 400)
    run.say(f"RTRL beside BPTT: a tanh RNN (hidden {hidden}) on the adding problem, T={length}")
    rnn, head = make_model(hidden, run.seed)
    x, y = adding_batch(16, length, np.random.default_rng(run.seed), dtype=np.float64)
    _, full, _ = bptt_gradients(rnn, head, x, y)
    _, rtrl, _ = rtrl_gradients(rnn, head, x, y)
    _, cut, _ = bptt_gradients(rnn, head, x, y, truncate=5)
    agree, bias = relative_difference(rtrl, full), relative_difference(cut, full)
    run.say("\nGradient against full BPTT (largest relative difference over the parameters):")
    run.say(f"  RTRL                  {agree:.1e}  (the same gradient, to round-off)")
    run.say(f"  truncated BPTT (k=5)  {bias:.1e}  (paths longer than 5 steps are dropped)")

    run.say(f"\nTraining {steps} Adam steps with each:")
    curves = {
        m: train(m, steps, length, hidden, run.seed, progress=run.progress) for m in ("bptt", "truncated", "rtrl")
    }
    for m, c in curves.items():
        run.say(f"  {m:10} loss {np.mean(c[:10]):.3f} -> {np.mean(c[-10:]):.3f}")

    lengths = (10, 20, 40) if run.quick else (25, 50, 100, 200)
    hiddens = (4, 8, 12) if run.quick else (8, 16, 32, 48)
    memory = {m: [per_step_cost(m, T, 8, run.seed)[1] for T in lengths] for m in ("bptt", "rtrl")}
    times = {m: [per_step_cost(m, 20, H, run.seed)[0] for H in hiddens] for m in ("bptt", "rtrl")}
    slope = float(np.polyfit(np.log(hiddens), np.log(times["rtrl"]), 1)[0])
    run.say(f"\nMemory kept for the gradient (H=8), T = {', '.join(map(str, lengths))}:")
    for m in memory:
        run.say(f"  {m:5} " + "  ".join(f"{b / 1024:8.1f} KB" for b in memory[m]))
    run.say(f"Time per step (T=20), H = {', '.join(map(str, hiddens))}:")
    for m in times:
        run.say(f"  {m:5} " + "  ".join(f"{s * 1e6:8.0f} us" for s in times[m]))
    run.say(f"  RTRL's time per step grows like H^{slope:.1f} here (H^4 asymptotically)")

    fig_ax = run.figure(1, 3, figsize=(13, 3.8))
    if fig_ax is not None:
        fig, (a0, a1, a2) = fig_ax
        labels = {"bptt": "full BPTT (under RTRL: the same run)", "truncated": "truncated BPTT, k=5", "rtrl": "RTRL"}
        for m, c in curves.items():
            a0.plot(c, lw=1.2, label=labels[m])
        a0.set(title="training loss (adding problem)", xlabel="Adam step", yscale="log")
        a0.legend()
        for m in memory:
            a1.plot(lengths, [b / 1024 for b in memory[m]], "o-", label=m)
        a1.set(title="memory for the gradient (H=8)", xlabel="sequence length T", ylabel="KB")
        a1.legend()
        for m in times:
            a2.loglog(hiddens, [s * 1e6 for s in times[m]], "o-", label=m)
        a2.set(title="time per step (T=20)", xlabel="hidden size H", ylabel="microseconds")
        a2.set_xticks(hiddens, [str(h) for h in hiddens])
        a2.minorticks_off()
        a2.legend()
        run.save_figure(fig, "rtrl.png")
    run.results.update(agree=agree, bias=bias, curves=curves, memory=memory, times=times, slope=slope,
                       lengths=lengths, hiddens=hiddens)  # fmt: skip
    return run.results
