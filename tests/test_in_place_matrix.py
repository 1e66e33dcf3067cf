"""Every op x which inputs require grad x every kind of in-place change, against PyTorch.

For each op of a list (elementwise, reductions, views, indexing, products, losses), each choice of
inputs that require grad, and each in-place change (none; a leaf changed under no_grad after the op;
the result changed in place; the result changed through a view; a non-leaf input changed in place
after the op), the engine must give PyTorch's outcome: the same refusal, or the same gradients. Where
PyTorch refuses and the engine computes, the engine's gradient must be the program's own (the same
program written out of place; for a view of a changed input, the view of its new value); where
PyTorch computes but its answer is not the program's own (kron, inverse: it checks less than it
saves), the engine may refuse. Found: a false refusal of ``copysign`` after its sign operand changed,
and ``contiguous()`` of a transpose writing through to the transposed tensor.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
A = rng.uniform(0.5, 1.5, (3, 4))
B = rng.uniform(0.5, 1.5, (3, 4))

UN = {
    "exp": lambda T, a: a.exp(),
    "log": lambda T, a: a.log(),
    "sqrt": lambda T, a: a.sqrt(),
    "tanh": lambda T, a: a.tanh(),
    "sigmoid": lambda T, a: a.sigmoid(),
    "relu": lambda T, a: a.relu(),
    "abs": lambda T, a: a.abs(),
    "neg": lambda T, a: -a,
    "sin": lambda T, a: a.sin(),
    "cos": lambda T, a: a.cos(),
    "square": lambda T, a: a.square(),
    "reciprocal": lambda T, a: a.reciprocal(),
    "rsqrt": lambda T, a: a.rsqrt(),
    "log1p": lambda T, a: a.log1p(),
    "expm1": lambda T, a: a.expm1(),
    "erf": lambda T, a: a.erf(),
    "atan": lambda T, a: a.atan(),
    "sinh": lambda T, a: a.sinh(),
    "cosh": lambda T, a: a.cosh(),
    "tan": lambda T, a: a.tan(),
    "softplus": lambda T, a: T.nn.functional.softplus(a),
    "gelu": lambda T, a: T.nn.functional.gelu(a),
    "silu": lambda T, a: T.nn.functional.silu(a),
    "elu": lambda T, a: T.nn.functional.elu(a),
    "leaky_relu": lambda T, a: T.nn.functional.leaky_relu(a, 0.1),
    "softmax": lambda T, a: a.softmax(-1),
    "log_softmax": lambda T, a: a.log_softmax(-1),
    "logsumexp": lambda T, a: a.logsumexp(-1),
    "sum": lambda T, a: a.sum(0),
    "mean": lambda T, a: a.mean(1),
    "prod": lambda T, a: a.prod(1),
    "max": lambda T, a: a.max(dim=1).values,
    "amax": lambda T, a: a.amax(0),
    "norm": lambda T, a: a.norm(),
    "cumsum": lambda T, a: a.cumsum(1),
    "cumprod": lambda T, a: a.cumprod(1),
    "var": lambda T, a: a.var(1),
    "std": lambda T, a: a.std(0),
    "clone": lambda T, a: a.clone(),
    "t": lambda T, a: a.t(),
    "reshape": lambda T, a: a.reshape(4, 3),
    "flip": lambda T, a: a.flip(0),
    "getitem": lambda T, a: a[1:, ::2],
    "index": lambda T, a: a[[0, 2, 0]],
    "pow2": lambda T, a: a**2,
    "powhalf": lambda T, a: a**0.5,
    "rpow": lambda T, a: 2.0**a,
    "mul_scalar": lambda T, a: a * 3.0,
    "div_scalar": lambda T, a: a / 3.0,
    "rdiv": lambda T, a: 3.0 / a,
    "clamp": lambda T, a: a.clamp(0.7, 1.2),
    "sort": lambda T, a: a.sort(1)[0],
    "topk": lambda T, a: a.topk(2, 1)[0],
    "cummax": lambda T, a: a.cummax(1)[0],
    "median": lambda T, a: a.median(1)[0],
    "expand": lambda T, a: a[None].expand(2, 3, 4),
    "repeat": lambda T, a: a.repeat(2, 1),
    "unsqueeze": lambda T, a: a.unsqueeze(0),
    "squeeze_view": lambda T, a: a[None].squeeze(0),
    "diag": lambda T, a: a.diagonal(),
    "unfold_apart": lambda T, a: a.unfold(1, 2, 2),  # windows that share no element: a view written through
    "unfold_sharing": lambda T, a: a.unfold(1, 3, 1),  # windows that share elements
    "lgamma": lambda T, a: a.lgamma(),
    "digamma": lambda T, a: a.digamma(),
    "erfinv": lambda T, a: (a * 0.5).erfinv(),
    "tril": lambda T, a: a.tril(),
    "roll": lambda T, a: a.roll(1, 1),
    "trace": lambda T, a: a[:, :3].trace(),
    "logit": lambda T, a: (a * 0.4).logit(),
    "normalize": lambda T, a: T.nn.functional.normalize(a, dim=1),
    "layer_norm": lambda T, a: T.nn.functional.layer_norm(a, (4,)),
    "dropout_eval": lambda T, a: T.nn.functional.dropout(a, 0.5, training=False),
    "hardtanh": lambda T, a: T.nn.functional.hardtanh(a, 0.7, 1.2),
    "atanh": lambda T, a: (a * 0.5).atanh(),
    "asin": lambda T, a: (a * 0.5).asin(),
    "sinc": lambda T, a: a.sinc(),
    "frac": lambda T, a: a.frac(),
    "nan_to_num": lambda T, a: a.nan_to_num(),
    "logcumsumexp": lambda T, a: a.logcumsumexp(1),
    "masked_fill": lambda T, a: a.masked_fill(a > 1, 0.0),
    "narrow": lambda T, a: a.narrow(1, 1, 2),
    "unbind": lambda T, a: a.unbind(0)[1],
    "chunk": lambda T, a: a.chunk(2, 1)[1],
    "split": lambda T, a: a.split(1, 0)[2],
    "movedim": lambda T, a: a.movedim(0, 1),
    "flatten": lambda T, a: a.flatten(),
    "view": lambda T, a: a.view(12),
    "permute": lambda T, a: a.permute(1, 0),
    "contiguous_t": lambda T, a: a.t().contiguous(),
    "mv": lambda T, a: a.mv(a[0]),
    "mm_self": lambda T, a: a @ a.t(),
    "inverse": lambda T, a: (a[:, :3] + 3 * T.eye(3)).inverse(),
    "det": lambda T, a: a[:, :3].det(),
    "softmin": lambda T, a: T.nn.functional.softmin(a, 1),
    "glu": lambda T, a: T.nn.functional.glu(a, 1),
}
BIN = {
    "add": lambda T, a, b: a + b,
    "sub": lambda T, a, b: a - b,
    "mul": lambda T, a, b: a * b,
    "div": lambda T, a, b: a / b,
    "pow": lambda T, a, b: a**b,
    "maximum": lambda T, a, b: T.maximum(a, b),
    "minimum": lambda T, a, b: T.minimum(a, b),
    "atan2": lambda T, a, b: T.atan2(a, b),
    "hypot": lambda T, a, b: T.hypot(a, b),
    "where": lambda T, a, b: T.where(a > 1, a, b),
    "cat": lambda T, a, b: T.cat([a, b], 0),
    "stack": lambda T, a, b: T.stack([a, b], 1),
    "lerp": lambda T, a, b: T.lerp(a, b, 0.3),
    "xlogy": lambda T, a, b: T.xlogy(a, b),
    "copysign": lambda T, a, b: T.copysign(a, b),
    "fmod": lambda T, a, b: T.fmod(a, b),
    "remainder": lambda T, a, b: T.remainder(a, b),
    "dist": lambda T, a, b: T.dist(a, b),
    "mse": lambda T, a, b: T.nn.functional.mse_loss(a, b),
    "l1": lambda T, a, b: T.nn.functional.l1_loss(a, b),
    "smooth_l1": lambda T, a, b: T.nn.functional.smooth_l1_loss(a, b),
    "huber": lambda T, a, b: T.nn.functional.huber_loss(a, b),
    "kl_div": lambda T, a, b: T.nn.functional.kl_div(a.log(), b, reduction="sum"),
    "bce": lambda T, a, b: T.nn.functional.binary_cross_entropy(a * 0.5, b * 0.5),
    "bce_logits": lambda T, a, b: T.nn.functional.binary_cross_entropy_with_logits(a, b * 0.5),
    "cosine_similarity": lambda T, a, b: T.nn.functional.cosine_similarity(a, b),
    "addcmul": lambda T, a, b: T.addcmul(a, a, b, value=0.5),
    "addcdiv": lambda T, a, b: T.addcdiv(a, a, b, value=0.5),
    "logaddexp": lambda T, a, b: T.logaddexp(a, b),
    "fmax": lambda T, a, b: T.fmax(a, b),
    "dot": lambda T, a, b: T.dot(a.reshape(-1), b.reshape(-1)),
    "outer": lambda T, a, b: T.outer(a[0], b[1]),
    "cdist": lambda T, a, b: T.cdist(a, b),
    "einsum": lambda T, a, b: T.einsum("ij,kj->ik", a, b),
    "kron": lambda T, a, b: T.kron(a[:2, :2], b[:2, :2]),
    "cross": lambda T, a, b: T.cross(a[:, :3], b[:, :3], dim=1),
    "index_add": lambda T, a, b: a.index_add(0, T.tensor([0, 0, 2]), b),
    "scatter_add": lambda T, a, b: a.scatter_add(1, T.tensor([[0, 1, 1, 0]] * 3), b),
    "masked_scatter": lambda T, a, b: a.masked_scatter(a > 1, b),
    "pdist_pairwise": lambda T, a, b: T.nn.functional.pairwise_distance(a, b),
    "bilinear_like": lambda T, a, b: (a @ b.t()).tanh(),
    "linear": lambda T, a, b: T.nn.functional.linear(a, b),
    "triplet": lambda T, a, b: T.nn.functional.triplet_margin_loss(a, b, a.flip(0)),
}
CHANGES = ["none", "leaf0", "leaf1", "result", "result_view", "input_view"]
# each change written out of place: the program whose gradient a computed answer must be
OUT_OF_PLACE = {"leaf0": "none", "leaf1": "none", "input_view": "none", "result": "result_oop",
                "result_view": "result_view_oop"}  # fmt: skip


def _op(T, name, xs):
    return UN[name](T, xs[0]) if name in UN else BIN[name](T, *xs)


def _grads(T, name, rgs, change):
    xs = [T.tensor(a.copy(), requires_grad=rg) for a, rg in zip((A, B), rgs)]
    if change in ("input_view", "input_view_oop"):  # the op reads a non-leaf, changed in place after it
        inputs = [x * 1 for x in xs]
        if change == "input_view_oop":
            inputs[0] = inputs[0] * 1.5
        y = _op(T, name, inputs)
        if change == "input_view":
            inputs[0].mul_(1.5)
    else:
        y = _op(T, name, xs)
    if change in ("leaf0", "leaf1"):
        with T.no_grad():
            xs[int(change[-1])].mul_(1.5)
    if change == "result":
        y.mul_(2.0)
    if change == "result_oop":
        y = y * 2.0
    if change == "result_view":
        (y[:1] if y.ndim else y).mul_(2.0)
    if change == "result_view_oop":
        m = np.ones(tuple(y.shape))
        if y.ndim:
            m[:1] *= 2.0
        else:
            m *= 2.0
        y = y * T.tensor(m)
    loss = (y * T.tensor(np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)))).sum()
    loss.backward()
    return [None if x.grad is None else np.array(x.grad.detach().numpy() if T is torch else x.grad.numpy()) for x in xs]


def _outcome(T, name, rgs, change):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _grads(T, name, rgs, change)
    except (RuntimeError, ValueError) as e:
        return e


def _same(a, b) -> bool:
    return all(
        (x is None) == (y is None) and (x is None or np.allclose(x, y, rtol=1e-9, atol=1e-12)) for x, y in zip(a, b)
    )


def _is_torch_view(name) -> bool:
    x = torch.tensor(A.copy()) * 1
    y = _op(torch, name, [x, torch.tensor(B.copy())])
    return y is x or y._base is x


@pytest.mark.parametrize("name", sorted(UN) + sorted(BIN))
def test_every_in_place_change_gives_pytorchs_outcome_or_the_programs_own_gradient(name):
    n = 1 if name in UN else 2
    torch.set_default_dtype(torch.float64)
    try:
        for rgs in itertools.product([True, False], repeat=n):
            for change in CHANGES:
                if not any(rgs) or (change == "leaf1" and n == 1):
                    continue
                theirs, ours = _outcome(torch, name, rgs, change), _outcome(tl, name, rgs, change)
                case = f"{name}, requires_grad={rgs}, change={change}"
                if isinstance(ours, Exception):
                    assert any(w in str(ours) for w in ("changed in place", "in-place", "memory location")), case
                if change == "none":
                    assert not isinstance(theirs, Exception) and not isinstance(ours, Exception), case
                    assert _same(theirs, ours), case
                    continue
                oop = OUT_OF_PLACE[change]
                if change == "input_view" and _is_torch_view(name):
                    oop = "input_view_oop"  # a view of the changed input: its new values
                reference = _grads(torch, name, rgs, oop)
                torch_right = not isinstance(theirs, Exception) and _same(theirs, reference)
                if isinstance(ours, Exception):
                    assert not torch_right, f"{case}: refused where PyTorch computes ({ours})"
                else:
                    assert _same(ours, reference), f"{case}: not the program's gradient"
                    if not isinstance(theirs, Exception):
                        assert _same(ours, theirs), case
    finally:
        torch.set_default_dtype(torch.float32)


def test_contiguous_of_a_transpose_is_new_memory_as_pytorchs():
    x = tl.tensor(A.copy())
    y = x.t().contiguous()
    assert y.is_contiguous() and x.contiguous() is x
    y[0, 0] = 100.0
    assert x[0, 0].item() == A[0, 0]  # the transpose's memory was x's: the write must not reach it
