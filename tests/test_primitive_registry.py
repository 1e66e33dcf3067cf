"""The registry of primitives (``tinygrad_lstm/primitives``): every registered primitive is compared with
PyTorch in float64, value, gradient and gradient of the gradient. A unary elementwise primitive that
PyTorch has under the same name (``torch.atan``) is compared without a case written here; any other new
primitive fails until it has one. The ``elementwise`` flag ``tl.compile`` fuses around is checked on
strided views; registering a name twice is refused."""

import inspect

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F
from tinygrad_lstm import ops
from tinygrad_lstm.primitives import PRIMITIVES, Primitive, is_primitive

from .helpers import close

torch = pytest.importorskip("torch")
TF = torch.nn.functional

COND = np.array([[True, False, True], [False, False, True]])


def _times_transpose(a, w):
    """``a @ w.T`` as the recurrent layers compute it: by w.T laid out apart, its VJP by w itself."""
    return ops.matmul_t(a, ops.transposed_copy(w), w.detach())


def _write_windows(x):
    """A write into windows that share no element (size 2, step 3) of a non-leaf (either library)."""
    h = x * 1.0
    h.unfold(1, 2, 3).mul_(h[:, :2].unsqueeze(1).tanh())
    return h


def _set_row(a, b):
    h = a * 1.0
    h[0] = b * 2.0
    return h


# name -> (input shapes, (low, high) or None for standard normal, ours, PyTorch's). Each case records
# its primitive (checked below); entries that only a VJP records are covered by the case named after them
CASES = {
    "add": ([(2, 3), (3,)], None, lambda a, b: a + b, lambda a, b: a + b),
    "sub": ([(2, 3), (2, 1)], None, lambda a, b: a - b, lambda a, b: a - b),
    "mul": ([(2, 3), (3,)], None, lambda a, b: a * b, lambda a, b: a * b),
    "div": ([(2, 3), (3,)], (0.5, 2.0), lambda a, b: a / b, lambda a, b: a / b),
    "pow": ([(2, 3), (3,)], (0.5, 2.0), lambda a, b: a**b, lambda a, b: a**b),
    # (steps, gradient 0: times an input, so that a second order exists)
    "floor_divide": (
        [(2, 3), (3,)],
        None,
        lambda a, b: (a // b) * a,
        lambda a, b: torch.div(a, b, rounding_mode="floor") * a,
    ),
    "trunc_divide": (
        [(2, 3), (3,)],
        None,
        lambda a, b: tl.div(a, b, rounding_mode="trunc") * b,
        lambda a, b: torch.div(a, b, rounding_mode="trunc") * b,
    ),
    "floor": ([(2, 3)], None, lambda x: x.floor() * x, lambda x: x.floor() * x),
    "ceil": ([(2, 3)], None, lambda x: x.ceil() * x, lambda x: x.ceil() * x),
    "trunc": ([(2, 3)], None, lambda x: x.trunc() * x, lambda x: x.trunc() * x),
    "remainder": ([(2, 3), (3,)], None, lambda a, b: a % b, lambda a, b: a % b),
    "fmod": ([(2, 3), (3,)], None, tl.fmod, torch.fmod),
    "atan2": ([(2, 3), (3,)], None, tl.atan2, torch.atan2),
    "hypot": ([(2, 3), (3,)], None, tl.hypot, torch.hypot),
    "inverse": ([(3, 3)], (0.5, 2.0), tl.inverse, torch.inverse),
    "det": ([(2, 3, 3)], None, tl.linalg.det, torch.linalg.det),
    "slogdet": ([(3, 3)], None, lambda x: tl.linalg.slogdet(x).logabsdet, lambda x: torch.linalg.slogdet(x).logabsdet),
    "solve": ([(2, 3, 3), (2, 3, 2)], None, tl.linalg.solve, torch.linalg.solve),
    # (the squares of the singular vectors: their signs are a choice)
    "svdvals": ([(4, 3)], None, tl.linalg.svdvals, torch.linalg.svdvals),
    "svd_u": ([(4, 3)], None, lambda x: tl.linalg.svd(x, False).U ** 2, lambda x: torch.linalg.svd(x, False).U ** 2),
    "svd_vh": ([(3, 5)], None, lambda x: tl.linalg.svd(x, False).Vh ** 2, lambda x: torch.linalg.svd(x, False).Vh ** 2),
    # (inside their domains: the name alone would compare them on [0.5, 2), mostly NaN)
    "asin": ([(2, 3)], (-0.9, 0.9), tl.asin, torch.asin),
    "acos": ([(2, 3)], (-0.9, 0.9), tl.acos, torch.acos),
    "atanh": ([(2, 3)], (-0.9, 0.9), tl.atanh, torch.atanh),
    "acosh": ([(2, 3)], (1.1, 3.0), tl.acosh, torch.acosh),
    "maximum": ([(2, 3), (3,)], None, tl.maximum, torch.maximum),
    "minimum": ([(2, 3), (3,)], None, tl.minimum, torch.minimum),
    "reciprocal": ([(2, 3)], (0.5, 2.0), lambda x: x.reciprocal(), torch.reciprocal),
    "rsqrt": ([(2, 3)], (0.5, 2.0), lambda x: x.rsqrt(), torch.rsqrt),
    "neg": ([(2, 3)], None, lambda x: -x, lambda x: -x),
    "exp": ([(2, 3)], None, tl.exp, torch.exp),
    "log": ([(2, 3)], (0.5, 2.0), tl.log, torch.log),
    "sqrt": ([(2, 3)], (0.5, 2.0), tl.sqrt, torch.sqrt),
    "abs": ([(2, 3)], None, tl.abs, torch.abs),
    "tanh": ([(2, 3)], None, tl.tanh, torch.tanh),
    "sigmoid": ([(2, 3)], None, tl.sigmoid, torch.sigmoid),
    "log1p": ([(2, 3)], (0.0, 2.0), lambda x: x.log1p(), torch.log1p),
    "expm1": ([(2, 3)], None, lambda x: x.expm1(), torch.expm1),
    "sin": ([(2, 3)], None, lambda x: x.sin(), torch.sin),
    "cos": ([(2, 3)], None, lambda x: x.cos(), torch.cos),
    "erf": ([(2, 3)], None, ops.erf, torch.erf),
    "relu": ([(2, 3)], None, tl.relu, torch.relu),
    "leaky_relu": ([(2, 3)], None, lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "elu": ([(2, 3)], None, lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7)),
    "hardtanh": ([(2, 3)], None, lambda x: F.hardtanh(x, -0.5, 0.6), lambda x: TF.hardtanh(x, -0.5, 0.6)),
    "threshold": ([(2, 3)], None, lambda x: F.threshold(x, 0.1, 2.0), lambda x: TF.threshold(x, 0.1, 2.0)),
    "hardshrink": ([(2, 3)], None, lambda x: F.hardshrink(x, 0.3), lambda x: TF.hardshrink(x, 0.3)),
    "where": (
        [(2, 3), (3,)],
        None,
        lambda a, b: tl.where(COND, a, b),
        lambda a, b: torch.where(torch.tensor(COND), a, b),
    ),
    "clip": ([(2, 3)], None, lambda x: x.clip(-0.5, 0.6), lambda x: x.clamp(-0.5, 0.6)),
    "astype": ([(2, 3)], None, lambda x: x.astype(np.float32) * 1.0, lambda x: x.float() * 1.0),
    "sign": ([(2, 3)], None, lambda x: x.sign() * x, lambda x: x.sign() * x),
    "round": ([(2, 3)], None, lambda x: x.round() * x, lambda x: x.round() * x),
    "getitem": ([(3, 4)], None, lambda x: x[1:, [2, 0, 2]], lambda x: x[1:, [2, 0, 2]]),
    "index_put": ([(2, 3), (3,)], None, _set_row, _set_row),
    "reshape": ([(2, 3)], None, lambda x: x.reshape(3, 2), lambda x: x.reshape(3, 2)),
    "transpose": ([(2, 3, 4)], None, lambda x: x.transpose(2, 0, 1), lambda x: x.permute(2, 0, 1)),
    "broadcast_to": ([(2, 1)], None, lambda x: ops.broadcast_to(x, (4, 2, 3)), lambda x: x.expand(4, 2, 3)),
    "cat": ([(2, 3), (1, 3)], None, lambda a, b: tl.cat([a, b]), lambda a, b: torch.cat([a, b])),
    "stack": ([(2, 3), (2, 3)], None, lambda a, b: tl.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1)),
    "flip": ([(2, 3)], None, lambda x: tl.flip(x, (0, 1)), lambda x: torch.flip(x, (0, 1))),
    "contiguous": ([(3, 2)], None, lambda x: x.T.contiguous(), lambda x: x.T.contiguous()),
    "diagonal": (
        [(3, 4, 2)],
        None,
        lambda x: x.transpose(0, 2).diagonal(1, 1, 2),
        lambda x: x.transpose(0, 2).diagonal(1, 1, 2),
    ),
    "diagonal_scatter": (
        [(3, 4), (3,)],
        None,
        lambda x, s: tl.diagonal_scatter(x, s, 1),
        lambda x, s: torch.diagonal_scatter(x, s, 1),
    ),
    "unfold": (
        [(3, 7)],
        None,
        lambda x: x.transpose(0, 1).unfold(0, 3, 2).unfold(1, 2, 1),
        lambda x: x.transpose(0, 1).unfold(0, 3, 2).unfold(1, 2, 1),
    ),
    "unfold_scatter": ([(3, 6)], None, lambda x: _write_windows(x), lambda x: _write_windows(x)),
    "triangle": ([(2, 3, 4)], None, lambda x: tl.tril(x, 1) * tl.triu(x, -1), lambda x: x.tril(1) * x.triu(-1)),
    "matmul": ([(4, 2, 3), (3, 5)], None, lambda a, b: a @ b, lambda a, b: a @ b),
    "matmul_t": ([(4, 2, 3), (5, 3)], None, _times_transpose, TF.linear),
    "transposed_copy": ([(2, 3)], None, ops.transposed_copy, lambda x: x.t().contiguous()),
    "einsum": (
        [(2, 3), (3, 4)],
        None,
        lambda a, b: tl.einsum("ij,jk->ik", a, b),
        lambda a, b: torch.einsum("ij,jk->ik", a, b),
    ),  # fmt: skip
    "sum": ([(2, 3, 4)], None, lambda x: x.sum(axis=1), lambda x: x.sum(dim=1)),
    "max": ([(2, 3)], None, lambda x: x.max(axis=1), lambda x: x.amax(dim=1)),
    "min": ([(2, 3)], None, lambda x: x.min(axis=0), lambda x: x.amin(dim=0)),
    "var": ([(2, 5)], None, lambda x: x.var(axis=1), lambda x: x.var(dim=1)),
    "cumsum": ([(2, 3)], None, lambda x: tl.cumsum(x, dim=1), lambda x: torch.cumsum(x, dim=1)),
    # (their special points, 0 log 0 and the sign of 0, are compared in test_normalization.py)
    "xlogy": ([(2, 3), (3,)], (0.5, 2.0), tl.xlogy, torch.xlogy),
    "xlog1py": ([(2, 3), (3,)], (0.5, 2.0), tl.special.xlog1py, torch.special.xlog1py),
    "entr": ([(2, 3)], (0.5, 2.0), tl.special.entr, torch.special.entr),
    "copysign": ([(2, 3), (3,)], None, tl.copysign, torch.copysign),
    # digamma (n = 0) and polygamma(2); lgamma and erfinv are compared by their names alone
    "polygamma": (
        [(2, 3)],
        (0.5, 2.0),
        lambda x: tl.digamma(x) * tl.polygamma(2, x),
        lambda x: x.digamma() * x.polygamma(2),
    ),
}
# recorded only by a VJP under create_graph (or never differentiated): the case that records them
RECORDED_BY = {
    "scatter_add": "getitem",
    "unfold_backward": "unfold",
    "cofactor": "det",
    "abs_backward": "abs",
    "relu_backward": "relu",
    "leaky_relu_backward": "leaky_relu",
    "hardtanh_backward": "hardtanh",
    "threshold_backward": "threshold",
    "hardshrink_backward": "hardshrink",
}
NOT_DIFFERENTIATED = {name for name, prim in PRIMITIVES.items() if prim.vjp is None}  # argmax, comparisons


def _case(name: str):
    """The case written above, or for a unary elementwise primitive that PyTorch has by the same name,
    the primitive itself (recorded through the kernel, no public function needed) on inputs in
    [0.5, 2), where log, sqrt and their kind are defined; None when there is neither."""
    if name in CASES:
        return CASES[name]
    prim = PRIMITIVES[name]
    # (the signature, not __code__: a mutation tool's wrapper keeps the one and not the other)
    if prim.elementwise and len(inspect.signature(prim.fwd).parameters) == 2 and hasattr(torch, name):
        return [(2, 3)], (0.5, 2.0), prim, getattr(torch, name)
    return None


COMPARED = sorted(set(PRIMITIVES) - set(RECORDED_BY) - NOT_DIFFERENTIATED)


def test_every_registered_primitive_is_compared_with_pytorch():
    missing = [name for name in COMPARED if _case(name) is None]
    assert not missing, f"add a case for each new primitive: {missing}"
    assert NOT_DIFFERENTIATED >= {"argmax", "argmin", "argsort", "less", "equal"}
    assert "atan" in COMPARED and "atan" not in CASES  # compared by its name alone


def _inputs(shapes, domain, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(*domain, s) if domain else rng.standard_normal(s) for s in shapes]
    ours = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


@pytest.mark.parametrize("name", COMPARED)
def test_each_primitive_matches_pytorch_to_second_order(name):
    """Value, gradient of sum(out^2 * w) and the gradient of sum(grad * v) through create_graph, in float64;
    each case records its primitive (and the cases in RECORDED_BY record theirs in backward)."""
    case = _case(name)
    if case is None:
        pytest.fail(f"{name}: no case (see test_every_registered_primitive_is_compared_with_pytorch)")
    shapes, domain, ours_fn, theirs_fn = case
    ours, theirs = _inputs(shapes, domain, seed=len(name))
    with tl.Tape() as tape:
        out = ours_fn(*ours)
        rng = np.random.default_rng(1)
        w = rng.standard_normal(out.shape)
        first = tl.grad((out * out * w).sum(), ours, create_graph=True)
        vs = [rng.standard_normal(x.shape) for x in ours]
        second = tl.grad(sum((g * v).sum() for g, v in zip(first, vs)), ours, allow_unused=True)
    recorded = {e.op for e in tape if is_primitive(e, e.op)}
    assert name in recorded
    assert {k for k, v in RECORDED_BY.items() if v == name} <= recorded

    t_out = theirs_fn(*theirs)
    t_first = torch.autograd.grad((t_out * t_out * torch.tensor(w)).sum(), theirs, create_graph=True)
    t_loss = sum((g * torch.tensor(v)).sum() for g, v in zip(t_first, vs))
    t_second = torch.autograd.grad(t_loss, theirs, allow_unused=True)
    # PyTorch's trigamma (polygamma(1), the second derivative of lgamma and the first of digamma) is good to
    # ~5e-10 relative in float64 (its asymptotic series stops at x^-7 after 6 shifts)
    tol = 1e-6 if name == "astype" else 2e-9 if name in ("lgamma", "polygamma") else 1e-10
    close(out.astype(np.float64), t_out.double(), tol, tol, f"{name} value")
    for k, (a, b) in enumerate(zip(first, t_first)):
        close(a, b, tol, tol, f"{name} gradient {k}")
    for k, (a, b) in enumerate(zip(second, t_second)):
        if b is None:  # no path from this input to its gradient in PyTorch: ours is absent or zero
            assert a is None or not np.any(a.data), (name, k)
        else:
            close(a, b, tol, tol, f"{name} second order {k}")


# the parameters of the elementwise primitives that take some (the rest take None)
PARAMETERS = {
    "leaky_relu": lambda x: 0.2,
    "elu": lambda x: 0.7,
    "hardtanh": lambda x: (-0.5, 0.6),
    "threshold": lambda x: (0.1, 2.0),
    "hardshrink": lambda x: 0.3,
    "clip": lambda x: (-0.5, 0.6),
    "where": lambda x: (x > 0, x.shape, x.shape),
    "astype": lambda x: (x.dtype, np.float32),
    "round": lambda x: 1,
    "add": lambda x: (x.shape, x.shape),
    "sub": lambda x: (x.shape, x.shape),
    "polygamma": lambda x: 2,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_primitives_give_the_same_bits_on_a_strided_view(dtype):
    """What ``tl.compile`` relies on when a gate's result, a view of a joined call's result, is read by
    an op flagged elementwise: each element computed as from a fresh array."""
    rng = np.random.default_rng(0)
    joined = (rng.standard_normal((16, 40)) * 3).astype(dtype)
    view, other = joined[:, 5:29], joined[:, 11:35].copy()  # a strided view, as a gate's slice is
    fresh = view.copy()
    flagged = [name for name, prim in PRIMITIVES.items() if prim.elementwise and not name.endswith("_backward")]
    assert {"add", "mul", "tanh", "sigmoid", "where"} <= set(flagged)
    for name in flagged:
        prim = PRIMITIVES[name]
        p = PARAMETERS.get(name, lambda x: None)(fresh)
        n_inputs = len(inspect.signature(prim.fwd).parameters) - 1
        with np.errstate(all="ignore"):
            a = prim.fwd(p, *([view, other][:n_inputs]))
            b = prim.fwd(p, *([fresh, other][:n_inputs]))
        assert a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8)), name


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_elementwise_primitives_keep_a_float_inputs_dtype(dtype):
    """A float32 (or float16) input gives a result of its dtype, as PyTorch's ops do: erf, computed
    by math.erf in float64 and cast back, survived a mutant that cast it to float64 instead."""
    x = (np.random.default_rng(1).uniform(0.2, 0.9, (3, 4))).astype(dtype)
    flagged = [name for name, prim in PRIMITIVES.items() if prim.elementwise and not name.endswith("_backward")]
    for name in flagged:
        if name == "astype":  # a cast by definition
            continue
        prim = PRIMITIVES[name]
        p = PARAMETERS.get(name, lambda x: None)(x)
        n_inputs = len(inspect.signature(prim.fwd).parameters) - 1
        with np.errstate(all="ignore"):
            out = prim.fwd(p, *([x, x[::-1].copy()][:n_inputs]))
        assert out.dtype == dtype, (name, out.dtype)


def test_a_name_registered_twice_is_refused_and_the_registry_is_unchanged():
    before = dict(PRIMITIVES)
    with pytest.raises(ValueError, match="'tanh' is already registered"):
        Primitive("tanh", lambda p, x: x, lambda g, entry: (g,))
    assert PRIMITIVES == before


def test_a_function_sharing_a_primitives_name_is_not_the_primitive():
    class tanh(tl.Function):  # noqa: N801 - named as the primitive on purpose
        @staticmethod
        def forward(ctx, x):
            return x.tanh()

        @staticmethod
        def backward(ctx, g):
            return g

    x = tl.randn(3, requires_grad=True)
    with tl.Tape() as tape:
        tanh.apply(x)
        tl.tanh(x)
    assert [e.op for e in tape] == ["tanh", "tanh"]
    assert [is_primitive(e, "tanh") for e in tape] == [False, True]


def test_a_compiled_step_fuses_gates_read_by_a_primitive_flagged_elementwise_and_replays_eagers_bits():
    """atan, flagged elementwise in its file and named nowhere in the compiler, reads a gate: the two
    sigmoid gates run as one call and one VJP, and loss and gradient equal eager's bit for bit."""
    rng = np.random.default_rng(0)
    w = tl.Tensor(rng.standard_normal((3, 8)), requires_grad=True)

    def loss(x):
        pre = x @ w
        return (tl.atan(pre[:, :4].sigmoid()) * pre[:, 4:].sigmoid()).sum()

    step = tl.compile(loss, exact=True, backend="numpy")
    for _ in range(3):
        x = rng.standard_normal((5, 3))
        w.grad = None
        replayed = step(x)
        replayed.backward()
        replayed_grad = w.grad.data.copy()
        w.grad = None
        eager = loss(tl.Tensor(x))
        eager.backward()
        assert replayed.data.tobytes() == eager.data.tobytes()
        assert replayed_grad.tobytes() == w.grad.data.tobytes()
    assert "sigmoid: one call" in step.source and "sigmoid: one VJP" in step.source
