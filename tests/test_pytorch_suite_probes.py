"""Probes modelled on what PyTorch's own test suites ask of an autograd engine, each run against
PyTorch in float64: values, first-order and second-order gradients (NaN equal to NaN), and an error
where PyTorch raises one. Each group names the PyTorch tests that inspired it (by name; no code is
taken from them). A probe this engine fails is a strict xfail whose reason says what differs: it
passes, and must be turned into a plain test, once the engine is fixed."""

import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# the special points probed here divide by zero and overflow on purpose, in both libraries
pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True"),
    pytest.mark.filterwarnings("ignore:Using a target size"),  # PyTorch's, before it refuses a shape
]


def _array(x) -> np.ndarray:
    if isinstance(x, tl.Tensor):
        return np.asarray(x.data)
    if isinstance(x, torch.Tensor):
        x = x.detach()
        return x.numpy(force=True) if x._is_zerotensor() else x.numpy()
    return np.asarray(x)


def _same(ours, theirs, what: str, tol: float = 1e-9) -> None:
    ours, theirs = _array(ours), _array(theirs)
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, equal_nan=True, err_msg=what)


def _flat(result) -> list:
    if isinstance(result, (tuple, list)):
        return [leaf for part in result for leaf in _flat(part)]
    return [result]


def differential(
    ours, theirs, *arrays, order: int = 2, needs_grad=None, tol: float = 1e-9, refuses: bool | None = False
) -> None:
    """Run ``ours`` on tl.Tensors and ``theirs`` on torch tensors made from the same float64 arrays
    (floating arrays require grad unless ``needs_grad`` lists the positions that do); compare the
    outputs, the gradients for random output gradients and, for ``order=2``, the gradients of a
    random combination of those gradients. An error in one library must be an error in the other;
    ``refuses`` says PyTorch is meant to refuse the program (else its refusal fails the test: a case
    that compares nothing, as one typo in its arguments would make it, must not pass); None, for a
    generated case, accepts either outcome as long as both libraries have it."""
    rng = np.random.default_rng(7)
    arrays = [np.asarray(a) for a in arrays]
    if needs_grad is None:
        needs_grad = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
    xs = [tl.Tensor(a.copy(), requires_grad=k in needs_grad) for k, a in enumerate(arrays)]
    ts = [torch.tensor(a.copy(), requires_grad=k in needs_grad) for k, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = _flat(theirs(*ts))
        except Exception as error:  # PyTorch refuses: so must we
            if refuses is False:
                why = f"PyTorch refuses this case ({type(error).__name__}: {error}); a case meant to compare "
                pytest.fail(why + "must be one PyTorch computes (refuses=True for a refusal)", pytrace=False)
            with pytest.raises(Exception):  # noqa: B017 - the type differs between the libraries
                ours(*xs)
            return error
        if refuses is True:
            pytest.fail("PyTorch computes a case marked refuses=True", pytrace=False)
        got = _flat(_ours(ours, *xs))
    assert len(got) == len(expected), (len(got), len(expected))
    for k, (a, b) in enumerate(zip(got, expected)):
        _same(a, b, f"output {k}", tol)
    if order == 0 or not needs_grad:
        return None
    pairs = [(a, b) for a, b in zip(got, expected) if isinstance(b, torch.Tensor) and b.requires_grad]
    if not pairs:  # PyTorch's outputs do not require grad (comparisons, indices): ours must not either
        assert not any(isinstance(a, tl.Tensor) and a.requires_grad for a in got)
        return None
    seeds = [rng.standard_normal(b.shape) for _, b in pairs]
    ins_o, ins_t = [xs[k] for k in needs_grad], [ts[k] for k in needs_grad]
    create = order >= 2
    g_o = tl.grad([a for a, _ in pairs], ins_o, [tl.Tensor(s) for s in seeds], create_graph=create, allow_unused=True)
    g_t = torch.autograd.grad(
        [b for _, b in pairs], ins_t, [torch.tensor(s) for s in seeds], create_graph=create, allow_unused=True
    )
    for k, (a, b, x) in enumerate(zip(g_o, g_t, ins_o)):
        _same(np.zeros(x.shape) if a is None else a, np.zeros(x.shape) if b is None else b, f"gradient {k}", tol)
    if not create:
        return None
    # second order: d/dx of sum(v * dL/dx); a gradient that does not depend on x contributes zeros
    vs = [rng.standard_normal(x.shape) for x in ins_o]
    live_o = [(a * tl.Tensor(v)).sum() for a, v in zip(g_o, vs) if a is not None and a.requires_grad]
    live_t = [(b * torch.tensor(v)).sum() for b, v in zip(g_t, vs) if b is not None and b.requires_grad]
    h_o = tl.grad(live_o, ins_o, allow_unused=True) if live_o else [None] * len(ins_o)
    h_t = torch.autograd.grad(live_t, ins_t, allow_unused=True) if live_t else [None] * len(ins_t)
    for k, (a, b, x) in enumerate(zip(h_o, h_t, ins_o)):
        _same(np.zeros(x.shape) if a is None else a, np.zeros(x.shape) if b is None else b, f"2nd gradient {k}", tol)
    return None


def _ours(fn, *args):
    """``fn(*args)``; an error where PyTorch computes fails the test with its message alone (no
    traceback: formatting one costs 0.2 s here, and the strict xfails below expect such errors)."""
    try:
        return fn(*args)
    except Exception as error:
        pytest.fail(f"ours raised where PyTorch computes: {type(error).__name__}: {error}", pytrace=False)


def both(fn):
    """``fn(lib)`` for lib in ("tl", "torch"): the same program written once for both libraries."""
    theirs = fn(LIBS["torch"])
    return _ours(fn, LIBS["tl"]), theirs


class _Lib:
    def __init__(self, name, module, tensor, grad, no_grad):
        self.name, self.m, self._tensor, self.grad, self.no_grad = name, module, tensor, grad, no_grad

    def t(self, data, requires_grad=False):
        return self._tensor(np.array(data, dtype=np.float64), requires_grad=requires_grad)

    def np(self, x):
        return None if x is None else _array(x).tolist()


LIBS = {
    "tl": _Lib("tl", tl, tl.Tensor, tl.grad, tl.no_grad),
    "torch": _Lib("torch", torch, torch.tensor, torch.autograd.grad, torch.no_grad),
}

A = np.array
RNG = np.random.default_rng(0)
X34 = RNG.standard_normal((3, 4))
X234 = RNG.standard_normal((2, 3, 4))


# ---- elementwise gradients at their special points --------------------------------------------------
# test_autograd: test_pow_zero_tensor_gradient, test_pow_scalar_base, test_abs/test_sign style cases;
# OpInfo sample inputs of clamp, maximum, minimum, where, reciprocal, rsqrt, log1p, expm1

SPECIAL = {
    "x**0 at 0": (lambda a: a**0, [A([0.0, 1.0, -2.0])]),
    "x**2 at 0": (lambda a: a**2, [A([0.0, 1.0, -2.0])]),
    "x**0.5 at 0": (lambda a: a**0.5, [A([0.0, 1.0, 2.0])]),
    "x**-1 at 0": (lambda a: a**-1.0, [A([0.0, 1.0, 2.0])]),
    "x**3 negative base": (lambda a: a**3, [A([-1.5, 0.0, 2.0])]),
    "negative base ** tensor": (lambda a, b: a**b, [A([-2.0, -1.5]), A([2.0, 3.0])]),
    "2 ** tensor": (lambda b: 2.0**b, [A([0.0, 1.0, -2.0])]),
    "sqrt at 0 and below": (lambda a: a.sqrt(), [A([0.0, 1.0, 4.0, -1.0])]),
    "abs at 0": (lambda a: a.abs(), [A([0.0, -1.0, 2.0])]),
    "relu at 0": (lambda a: a.relu(), [A([0.0, -1.0, 2.0])]),
    "sign": (lambda a: a.sign(), [A([0.0, -1.0, 2.0])]),
    "clamp at its bounds": (lambda a: a.clamp(-1.0, 1.0), [A([-1.0, 1.0, 0.0, 2.0, -3.0])]),
    "clamp min only": (lambda a: a.clamp(min=0.0), [A([-1.0, 0.0, 2.0])]),
    "clamp min > max": (lambda a: a.clamp(1.0, -1.0), [A([-2.0, 0.0, 2.0])]),
    "log at 0 and below": (lambda a: a.log(), [A([0.0, 1.0, -1.0])]),
    "log1p": (lambda a: a.log1p(), [A([-0.5, 0.0, 2.0])]),
    "exp of -inf and large": (lambda a: a.exp(), [A([-np.inf, 0.0, 800.0])]),
    "reciprocal at 0": (lambda a: a.reciprocal(), [A([0.0, 2.0, -1.0])]),
    "sigmoid saturated": (lambda a: a.sigmoid(), [A([-800.0, -50.0, 0.0, 50.0, 800.0])]),
    "tanh saturated": (lambda a: a.tanh(), [A([-50.0, 0.0, 50.0])]),
    "x / 0": (lambda a, b: a / b, [A([1.0, 0.0, -1.0]), A([0.0, 0.0, 2.0])]),
    "x * x, x / x, x - x (one input twice)": (lambda a: (a * a, a / a, a - a), [X34]),
    "0-d used many times": (lambda a: a * a * a + a.exp() * a, [A(0.7)]),
    "round (zero gradient)": (lambda a: a.round(), [A([0.5, 1.5, 2.4, -0.5])]),
}


@pytest.mark.parametrize("name", list(SPECIAL))
def test_elementwise_special_points(name):
    fn, arrays = SPECIAL[name]
    differential(fn, fn, *arrays)


TWO_SIDED = {
    "maximum ties": (tl.maximum, torch.maximum, [A([1.0, 2.0, 3.0]), A([1.0, 1.0, 4.0])]),
    "minimum ties": (tl.minimum, torch.minimum, [A([1.0, 2.0, 3.0]), A([1.0, 1.0, 4.0])]),
    "maximum with NaN": (tl.maximum, torch.maximum, [A([np.nan, 2.0]), A([1.0, np.nan])]),
    "maximum broadcast": (tl.maximum, torch.maximum, [X34, A([0.0])]),
    "where": (lambda a, b: tl.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b), [X34, X34[::-1].copy()]),
    "where broadcast": (lambda a, b: tl.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b), [X34, X34[0]]),
    "where, NaN in the branch not taken": (
        lambda a: tl.where(a > 0, a.sqrt(), 0.0),
        lambda a: torch.where(a > 0, a.sqrt(), 0.0),
        [A([-1.0, 4.0])],
    ),
}


@pytest.mark.parametrize("name", list(TWO_SIDED))
def test_binary_special_points(name):
    ours, theirs, arrays = TWO_SIDED[name]
    differential(ours, theirs, *arrays)


def test_clamp_gradient_reaches_tensor_bounds():
    differential(
        lambda a, lo, hi: a.clamp(lo, hi),
        lambda a, lo, hi: a.clamp(lo, hi),
        A([-2.0, 0.5, 3.0, 1.0]),
        A([-1.0, 0.0, 0.0, 1.0]),
        A([1.0, 1.0, 2.0, 1.0]),
    )


CLAMP_BOUNDS = {
    # x, lo, hi: ties at both ends, lo == hi (PyTorch sends x < lo == hi's gradient nowhere), lo > hi, NaN
    "ties and crossed bounds": (
        [-2.0, -1.0, 1.0, 3.0, 0.5, 0.0, 2.0, np.nan],
        [-1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0],
        [1.0, 1.0, 1.0, 2.0, 1.0, -1.0, 1.0, 1.0],
    ),
    "row bounds broadcast": ([[-2.0, 0.5, 3.0], [1.0, -1.0, 0.2]], [[-1.0, 0.0, 0.0]], [[1.0, 1.0, 2.0]]),
}


@pytest.mark.parametrize("name", list(CLAMP_BOUNDS))
@pytest.mark.parametrize("which", ["both", "min only", "max only"])
def test_clamp_with_tensor_bounds_shares_the_gradient_as_pytorch(name, which):
    x, lo, hi = (A(v) for v in CLAMP_BOUNDS[name])
    pick = {
        "both": lambda a, lo, hi: a.clamp(lo, hi),
        "min only": lambda a, lo, hi: a.clamp(min=lo) * 1.0 + hi.sum() * 0.0,
        "max only": lambda a, lo, hi: a.clamp(max=hi) * 1.0 + lo.sum() * 0.0,
    }[which]
    differential(pick, pick, x, lo, hi)


def test_clamp_with_bounds_that_need_a_gradient_replays_as_eager():
    w = tl.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    lo = tl.tensor(np.array([-0.5, 0.0, 0.2]), requires_grad=True)

    def loss(x):
        return ((w * x).clamp(lo, w.abs()) ** 2).sum()

    step = tl.compile(loss)
    for values in ([1.0, 2.0, 3.0], [5.0, 0.0, -1.0], [0.1, 0.1, 0.1]):
        got = []
        for fn in (step, lambda x: loss(tl.tensor(x))):
            w.grad = lo.grad = None
            out = fn(np.array(values))
            out.backward()
            got.append((out.data.copy(), w.grad.data.copy(), lo.grad.data.copy()))
        for a, b in zip(*got):
            np.testing.assert_array_equal(a, b)


# ---- reductions ---------------------------------------------------------------------------------------
# test_autograd: test_norm_subgradient, test_min_max_median_backprops_to_all_values, test_sum_to_with_empty_dim_grad;
# OpInfo sample inputs of prod (with zeros), logsumexp (with infinities), std/var (correction), norm (p)

TIES = A([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
REDUCTIONS = {
    "max() ties share": (lambda a: a.max(), lambda a: a.max(), [TIES]),
    "min() ties share": (lambda a: a.min(), lambda a: a.min(), [TIES]),
    "max(dim) ties: one index": (lambda a: a.max(dim=1), lambda a: a.max(dim=1), [TIES]),
    "max(dim, keepdim).values": (
        lambda a: a.max(dim=1, keepdim=True).values,
        lambda a: a.max(dim=1, keepdim=True).values,
        [X34],
    ),
    "max(axis) is amax: ties share": (lambda a: a.max(axis=(0, 1)), lambda a: a.amax(dim=(0, 1)), [TIES]),
    "max(dim) with NaN": (
        lambda a: a.max(dim=1)[0],
        lambda a: a.max(dim=1)[0],
        [A([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]])],
    ),
    "sum over dims tuple": (lambda a: a.sum(dim=(0, 2)), lambda a: a.sum(dim=(0, 2)), [X234]),
    "sum of empty": (lambda a: a.sum(dim=0), lambda a: a.sum(dim=0), [np.zeros((0, 3))]),
    "mean of empty is NaN": (lambda a: a.mean(), lambda a: a.mean(), [np.zeros((0, 3))]),
    "prod with one zero": (lambda a: a.prod(), lambda a: a.prod(), [A([2.0, 0.0, 3.0, -1.0])]),
    "prod with two zeros": (lambda a: a.prod(), lambda a: a.prod(), [A([2.0, 0.0, 3.0, 0.0])]),
    "prod(dim) rows with 0, 1, 2 zeros": (
        lambda a: a.prod(dim=1),
        lambda a: a.prod(dim=1),
        [A([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]])],
    ),
    "cumsum(dim=-1)": (lambda a: a.cumsum(dim=-1), lambda a: a.cumsum(dim=-1), [X234]),
    "std of constant (NaN gradient)": (lambda a: a.std(), lambda a: a.std(), [A([2.0, 2.0, 2.0])]),
    "var correction=2": (lambda a: a.var(dim=1, correction=2), lambda a: a.var(dim=1, correction=2), [X34]),
    "norm p=1 at 0": (lambda a: a.norm(p=1), lambda a: a.norm(p=1), [A([0.0, 1.0, -2.0])]),
    "norm p=inf with ties": (lambda a: a.norm(p=float("inf")), lambda a: a.norm(p=float("inf")), [A([2.0, 1.0, -2.0])]),
    "norm p=3": (lambda a: a.norm(p=3), lambda a: a.norm(p=3), [X34]),
    "norm(p, dim) positional": (lambda a: a.norm(2, 1), lambda a: a.norm(2, 1), [X34]),
    "logsumexp of an all -inf row": (
        lambda a: a.logsumexp(dim=1),
        lambda a: a.logsumexp(dim=1),
        [A([[-np.inf, -np.inf], [0.0, 1.0]])],
    ),
    "logsumexp with +inf": (
        lambda a: a.logsumexp(dim=1),
        lambda a: a.logsumexp(dim=1),
        [A([[np.inf, 1.0], [0.0, 1.0]])],
    ),
    "softmax of -inf rows": (
        lambda a: a.softmax(dim=1),
        lambda a: a.softmax(dim=1),
        [A([[-np.inf, -np.inf], [0.0, -np.inf]])],
    ),
    "log_softmax with -inf": (
        lambda a: a.log_softmax(dim=1),
        lambda a: a.log_softmax(dim=1),
        [A([[0.0, -np.inf], [1.0, 2.0]])],
    ),
    "softmax of huge logits": (
        lambda a: a.softmax(dim=-1),
        lambda a: a.softmax(dim=-1),
        [A([[1000.0, 0.0], [-1000.0, 0.0]])],
    ),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions(name):
    ours, theirs, arrays = REDUCTIONS[name]
    differential(ours, theirs, *arrays)


@pytest.mark.parametrize(
    "ours, theirs, x",
    [
        (lambda a: a.norm(dim=1), lambda a: a.norm(dim=1), A([[0.0, 0.0], [3.0, 4.0]])),
        (lambda a: a.var(), lambda a: a.var(), A([2.0])),
    ],
    ids=["2-norm of a zero row", "var of one value"],
)
def test_first_order_where_pytorch_second_order_is_an_artifact(ours, theirs, x):
    """The subgradient of the 2-norm at 0 is 0, and var of one value has a NaN gradient, in both.
    Their second orders differ: PyTorch's is NaN at the zero row (ours 0) and 0 for the one value
    (ours NaN, as the first order is): artifacts of how each writes the formula, so first order only."""
    differential(ours, theirs, x, order=1)


def test_norm_minus_inf_is_the_smallest_magnitude():
    differential(
        lambda a: a.norm(p=-np.inf, dim=1), lambda a: a.norm(p=-np.inf, dim=1), A([[3.0, -1.0, 2.0], [0.5, 4.0, -6.0]])
    )


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("logsumexp", lambda a: a.logsumexp(dim=1), lambda a: a.logsumexp(dim=1)),
        ("softmax", lambda a: a.softmax(dim=1), lambda a: a.softmax(dim=1)),
        ("log_softmax", lambda a: a.log_softmax(dim=1), lambda a: a.log_softmax(dim=1)),
    ],
)
def test_softmax_family_over_an_empty_axis(name, ours, theirs):
    differential(ours, theirs, np.zeros((2, 0)))


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("sum(dim=0) of a 0-d tensor", lambda a: a.sum(dim=0), lambda a: a.sum(dim=0)),
        ("softmax(dim=0) of a 0-d tensor", lambda a: a.softmax(dim=0), lambda a: a.softmax(dim=0)),
        ("log_softmax(dim=0) of a 0-d tensor", lambda a: a.log_softmax(dim=0), lambda a: a.log_softmax(dim=0)),
        ("cumsum(dim=0) of a 0-d tensor", lambda a: a.cumsum(dim=0), lambda a: a.cumsum(dim=0)),
    ],
)
def test_zero_dim_tensor_accepts_dim_0(name, ours, theirs):
    differential(ours, theirs, A(2.0))


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("norm(p=0) counts non-zeros", lambda a: a.norm(p=0), lambda a: a.norm(p=0)),
        ("norm(p='fro')", lambda a: a.norm(p="fro"), lambda a: a.norm(p="fro")),
        ("norm(p='fro', dim=1)", lambda a: a.norm(p="fro", dim=1), lambda a: a.norm(p="fro", dim=1)),
        ("norm(p=-inf) of all", lambda a: a.norm(p=-np.inf), lambda a: a.norm(p=-np.inf)),
    ],
)
def test_norms_pytorch_spells(name, ours, theirs):
    differential(ours, theirs, np.abs(X34) + A([0.0, 1.0, 0.0, 2.0]))


def test_a_norm_of_an_unknown_kind_is_named():
    with pytest.raises(ValueError, match="norm: p must be a number, inf, -inf or 'fro', got 'nucular'"):
        tl.tensor(np.ones(3)).norm(p="nucular")
    with pytest.raises(ValueError, match=r"norm: p='nuc' of shape \(3,\) needs a matrix"):  # as PyTorch
        tl.tensor(np.ones(3)).norm(p="nuc")


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("std(unbiased=False)", lambda a: a.std(dim=1, unbiased=False), lambda a: a.std(dim=1, unbiased=False)),
        ("tl.logsumexp(x, dim=)", lambda a: tl.logsumexp(a, dim=1), lambda a: torch.logsumexp(a, dim=1)),
        ("tl.softmax(x, dim=)", lambda a: tl.softmax(a, dim=0), lambda a: torch.softmax(a, dim=0)),
        ("tl.log_softmax(x, dim=)", lambda a: tl.log_softmax(a, dim=0), lambda a: torch.log_softmax(a, dim=0)),
        ("tl.prod(x, dim=)", lambda a: tl.prod(a, dim=1), lambda a: torch.prod(a, dim=1)),
        ("x.squeeze(dim=) of a non-1 axis is a no-op", lambda a: a.squeeze(dim=0), lambda a: a.squeeze(dim=0)),
    ],
)
def test_pytorch_spellings_of_reductions(name, ours, theirs):
    differential(ours, theirs, np.abs(X34) + A([0.0, 1.0, 0.0, 2.0]))


# ---- indexing and shape ops ------------------------------------------------------------------------------
# test_autograd: test_indexing, test_indexing_duplicates, test_stack, test_unused_output,
# test_sum_to_with_empty_dim_grad


def _index(lib_tensor, idx):
    """An index made of lists becomes integer arrays of the library (PyTorch reads a list as a tensor)."""
    convert = (lambda v: torch.tensor(v)) if lib_tensor is torch else np.array
    if isinstance(idx, tuple):
        return tuple(convert(v) if isinstance(v, (list, np.ndarray)) else v for v in idx)
    return convert(idx) if isinstance(idx, (list, np.ndarray)) else idx


X44 = np.arange(1.0, 17.0).reshape(4, 4)
X434 = np.arange(1.0, 49.0).reshape(4, 3, 4)
INDICES = [
    (X44, 1),
    (X44, (1, 1)),
    (X44, slice(1, None)),
    (X44, (slice(None, 2), 2)),
    (X44, (Ellipsis, slice(2, None))),
    (X44, [0, 2]),
    (X44, ([0], [0])),
    (X44, ([1, 2, 3], [0])),
    (X44, ([[1, 2], [3, 0]], [[0, 1], [2, 3]])),
    (X44, (slice(None), [2, 3])),
    (X44, ([1, 1, 3, 2, 1, 2],)),
    (X44, ([[1, 2], [0, 0]], [[0, 1], [1, 1]])),
    (X44, (None, 1)),
    (X44, (slice(None, None, 2), slice(1, None, 2))),
    (X44, (A([True, False, True, False]),)),
    (X44, (1, [0, 0, 3])),
    (X44, (Ellipsis, None)),
    (X44, A([], dtype=np.int64)),
    (X44, A([-1, -4])),
    (X434, (slice(None), [0], [0])),
    (X434, (slice(None), [[1, 2], [2, 0]], [[0, 1], [2, 3]])),
    (X434, ([1, 2], [0, 1], Ellipsis)),
    (X434, (Ellipsis, [1, 2], [0, 1])),
    (X434, ([1, 1, 1], slice(None), slice(None))),
    (X434, ([0, 2], slice(None), [1, 3])),
    (X434, (slice(None), 1, [0, 2])),
]


@pytest.mark.parametrize("x, idx", INDICES, ids=[f"{k}" for k in range(len(INDICES))])
def test_getitem(x, idx):
    differential(lambda a: a[_index(np, idx)], lambda a: a[_index(torch, idx)], x)


def test_getitem_with_a_mask_of_the_values_and_a_0d_index():
    differential(lambda a: (a[a > 8], a[tl.Tensor(A(2))]), lambda a: (a[a > 8], a[torch.tensor(2)]), X44)


def test_reverse_slice_is_flip():
    """PyTorch has no negative step; ``x[::-1]`` here must equal its ``flip``."""
    differential(lambda a: a[::-1, ::-2], lambda a: a.flip(0, 1)[:, ::2], X44)


SHAPES = {
    "stack dim=-1": (lambda a, b: tl.stack([a, b], dim=-1), lambda a, b: torch.stack([a, b], -1), [X34, X34 * 2]),
    "cat with an empty part": (
        lambda a, b: tl.cat([a, b], dim=0),
        lambda a, b: torch.cat([a, b], dim=0),
        [X34, np.zeros((0, 4))],
    ),
    "chunk, uneven": (lambda a: a.chunk(3, dim=0), lambda a: a.chunk(3, dim=0), [np.arange(5.0)]),
    "chunk(4) of 6 makes 3": (lambda a: a.chunk(4, dim=0), lambda a: a.chunk(4, dim=0), [np.arange(6.0)]),
    "one chunk used": (lambda a: a.chunk(2)[1] * 4, lambda a: a.chunk(2)[1] * 4, [X44]),
    "split sizes": (lambda a: a.split([1, 3], dim=1), lambda a: a.split([1, 3], dim=1), [X44]),
    "tl.split(x, n, dim=)": (lambda a: tl.split(a, 2, dim=0), lambda a: torch.split(a, 2, dim=0), [X44]),
    "squeeze(dim) of size 1": (lambda a: a.squeeze(1), lambda a: a.squeeze(1), [np.ones((3, 1, 2))]),
    "squeeze(tuple)": (lambda a: a.squeeze((0, 2)), lambda a: a.squeeze((0, 2)), [np.ones((1, 3, 1))]),
    "unsqueeze of 0-d": (lambda a: a.unsqueeze(0), lambda a: a.unsqueeze(0), [A(2.0)]),
    "flatten of 0-d": (lambda a: a.flatten(), lambda a: a.flatten(), [A(3.0)]),
    "permute negative": (lambda a: a.permute(-1, 0, 1), lambda a: a.permute(-1, 0, 1), [X234]),
    "transpose(-1, -2)": (lambda a: a.transpose(-1, -2), lambda a: a.transpose(-1, -2), [X234]),
    "t() of 1-D": (lambda a: a.t(), lambda a: a.t(), [np.arange(3.0)]),
    "expand with -1": (lambda a: a.expand(2, -1, 4), lambda a: a.expand(2, -1, 4), [np.ones((3, 1))]),
    "gather with repeated rows": (
        lambda a: a.gather(0, tl.Tensor(A([[0, 0, 0, 0], [0, 1, 2, 3]]))),
        lambda a: a.gather(0, torch.tensor([[0, 0, 0, 0], [0, 1, 2, 3]])),
        [X44],
    ),
    "gather, index smaller than input": (
        lambda a: a.gather(-1, tl.Tensor(A([[0], [1]]))),
        lambda a: a.gather(-1, torch.tensor([[0], [1]])),
        [X44],
    ),
    "tril(diagonal=1)": (lambda a: a.tril(diagonal=1), lambda a: a.tril(diagonal=1), [X44]),
    "matmul 1-D @ 3-D": (
        lambda a, b: a @ b,
        lambda a, b: a @ b,
        [RNG.standard_normal(3), RNG.standard_normal((4, 3, 2))],
    ),
    "matmul 4-D @ 3-D broadcast": (
        lambda a, b: a @ b,
        lambda a, b: a @ b,
        [RNG.standard_normal((5, 1, 2, 3)), RNG.standard_normal((4, 3, 2))],
    ),
    "matmul with an empty inner axis": (lambda a, b: a @ b, lambda a, b: a @ b, [np.zeros((2, 0)), np.zeros((0, 3))]),
    "broadcast (2,1,4) and (3,1)": (
        lambda a, b: (a + b, a * b, a / (b * b + 1)),
        lambda a, b: (a + b, a * b, a / (b * b + 1)),
        [RNG.standard_normal((2, 1, 4)), RNG.standard_normal((3, 1))],
    ),
    "broadcast with an empty axis": (lambda a, b: a * b, lambda a, b: a * b, [np.ones((0, 1)), np.ones((1, 3))]),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_ops(name):
    ours, theirs, arrays = SHAPES[name]
    differential(ours, theirs, *arrays)


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("x.unbind(0)", lambda a: a.unbind(0), lambda a: a.unbind(0)),
        ("x.expand_as(y)", lambda a: a[:1].expand_as(a), lambda a: a[:1].expand_as(a)),
        ("x.repeat(2, 3)", lambda a: a.repeat(2, 3), lambda a: a.repeat(2, 3)),
        ("x.matmul(y)", lambda a: a.matmul(a.T), lambda a: a.matmul(a.T)),
        ("x.mm(y)", lambda a: a.mm(a.T), lambda a: a.mm(a.T)),
        ("x.narrow(0, 1, 2)", lambda a: a.narrow(0, 1, 2), lambda a: a.narrow(0, 1, 2)),
        ("x.select(1, 2)", lambda a: a.select(1, 2), lambda a: a.select(1, 2)),
        ("x.diagonal()", lambda a: a.diagonal(), lambda a: a.diagonal()),
        ("x.roll(1, 0)", lambda a: a.roll(1, 0), lambda a: a.roll(1, 0)),
        ("x.unflatten(1, (2, 2))", lambda a: a.unflatten(1, (2, 2)), lambda a: a.unflatten(1, (2, 2))),
        ("x.mT", lambda a: a.mT, lambda a: a.mT),
        ("abs(x)", lambda a: abs(a), lambda a: abs(a)),
        ("tl.matmul(x, y)", lambda a: tl.matmul(a, a.T), lambda a: torch.matmul(a, a.T)),
        ("tl.sum(x, dim=)", lambda a: tl.sum(a, dim=0), lambda a: torch.sum(a, dim=0)),
        ("tl.mean(x, dim=)", lambda a: tl.mean(a, dim=0), lambda a: torch.mean(a, dim=0)),
        ("tl.max(x, dim=)", lambda a: tl.max(a, dim=0), lambda a: torch.max(a, dim=0)),
        ("tl.clamp(x, lo, hi)", lambda a: tl.clamp(a, 2.0, 9.0), lambda a: torch.clamp(a, 2.0, 9.0)),
        ("tl.unbind(x, 1)", lambda a: tl.unbind(a, 1), lambda a: torch.unbind(a, 1)),
        (
            "tl.cat with a legacy empty 1-D part",
            lambda a: tl.cat([a, tl.zeros(0, dtype=np.float64)]),
            lambda a: torch.cat([a, torch.zeros(0, dtype=torch.float64)]),
        ),
    ],
)
def test_pytorch_spellings_of_shape_ops(name, ours, theirs):
    differential(ours, theirs, X44)


# ---- the autograd engine ---------------------------------------------------------------------------------
# test_autograd: test_grad, test_grad_nonleaf, test_grad_nonleaf_many_outputs, test_grad_unreachable,
# test_hooks, test_retain_grad, test_accumulate_grad, test_backward_twice_with_saved_values,
# test_backward_twice_retained_graph_without_saved_values, test_requires_grad_, test_no_grad,
# test_set_grad_generator_functions, test_detach, test_setitem, test_setitem_mask, test_leaf_assignment,
# test_no_grad_assignment, test_no_grad_modifies_version, test_inplace, test_backward_copy, test_isolated_node


def _hessian_vector(lib):
    x, y = lib.t([[1.0, 2.0], [3.0, 4.0]], True), lib.t([[0.5, -1.0], [2.0, 1.0]], True)
    (x**2 + y * x + y**2).backward(lib.t(np.ones((2, 2))), create_graph=True)
    first = [lib.np(x.grad), lib.np(y.grad), x.grad.requires_grad]
    (2 * x.grad + y.grad).backward(lib.t(np.ones((2, 2))))
    return first + [lib.np(x.grad), lib.np(y.grad)]


def _grad_of_nonleaf_chain(lib):
    x0, y = lib.t([[1.0, 2.0], [3.0, 4.0]], True), lib.t([[0.5, -1.0], [2.0, 1.0]], True)
    x = x0
    for _ in range(3):
        (gx,) = lib.grad(x**2 + y * x + y**2, x, grad_outputs=lib.t(np.ones((2, 2))), create_graph=True)
        x = x + 0.05 * gx
    x.backward(lib.t(np.ones((2, 2))))
    return [lib.np(x0.grad), lib.np(y.grad)]


def _grad_wrt_chunks(lib):
    x = lib.t(np.arange(8.0).reshape(4, 2), True)
    a, b = x.chunk(2)
    ga, gb = lib.grad(a + 2 * b, [a, b], grad_outputs=lib.t(np.ones((2, 2))), create_graph=True)
    return [lib.np(ga), lib.np(gb), x.grad]


def _unreachable(lib):
    x, y = lib.t([1.0], True), lib.t([1.0], True)
    gx, gy = lib.grad(x * 2, [x, y], allow_unused=True)
    return [lib.np(gx), gy]


def _hooks(lib):
    x, y = lib.t(np.ones((2, 2)), True), lib.t(np.ones((2, 2)) * 4, True)
    counter = [0]
    z = x**2 + x * 2 + x * y + y
    h1 = z.register_hook(lambda g: counter.__setitem__(0, counter[0] + 1))
    z.backward(lib.t(np.ones((2, 2))), retain_graph=True)
    h2 = z.register_hook(lambda g: counter.__setitem__(0, counter[0] + 2))
    z.backward(lib.t(np.ones((2, 2))), retain_graph=True)
    h2.remove()
    z.backward(lib.t(np.ones((2, 2))), retain_graph=True)
    h1.remove()
    z.register_hook(lambda g: g * 2)
    y.grad = None
    z.backward(lib.t(np.ones((2, 2))), retain_graph=True)
    doubled = lib.np(y.grad)
    y.register_hook(lambda g: g * 2)
    y.grad = None
    z.backward(lib.t(np.ones((2, 2))))
    return [counter[0], doubled, lib.np(y.grad)]


def _retain_grad(lib):
    inp = lib.t([[0.1, 0.2, 0.3]], True)
    h1 = inp * 3
    out = (h1 * h1).sum()
    h1.retain_grad()
    h1.retain_grad()
    out.backward(retain_graph=True)
    once = lib.np(h1.grad)
    out.backward(retain_graph=True)
    twice = lib.np(h1.grad)
    inp.grad = None
    inp.retain_grad()
    out.backward()
    return [once, twice, lib.np(inp.grad)]


def _backward_with_inputs(lib):
    x, y = lib.t([1.0, 2.0], True), lib.t([3.0, 4.0], True)
    (x * y).sum().backward(inputs=[x])
    return [lib.np(x.grad), y.grad]


def _requires_grad_(lib):
    x, y = lib.t([1.0]), lib.t([1.0], True)
    result = [x.requires_grad_() is x, x.requires_grad]
    z = x * y
    with pytest.raises(RuntimeError):
        z.requires_grad_(False)
    return result + [x.requires_grad_(False) is x, x.requires_grad]


def _no_grad(lib):
    x = lib.t(np.ones(2), True)
    with lib.no_grad():
        w = x + 1

    @lib.no_grad()
    def adder(a):
        return a + 1

    def generator():
        for _ in range(2):
            yield lib.m.is_grad_enabled()

    inside = list(lib.no_grad()(generator)())
    return [w.requires_grad, adder(x).requires_grad, w.grad_fn is None, inside, lib.m.is_grad_enabled()]


def _detach_(lib):
    x, y = lib.t(np.ones(2), True), lib.t(np.ones(2), True)
    a = x * 2
    (y + a).sum().backward(retain_graph=True)
    a.detach_()
    (y + a).sum().backward()
    return [lib.np(x.grad), lib.np(y.grad), a.requires_grad]


def _setitem(lib):
    grads = []
    for index in (1, (1, 2), slice(1, 3), (slice(None), 2)):
        x = lib.t(np.ones((5, 5)), True)
        y = x + 2
        y[index] = 2
        y.backward(lib.t(np.arange(25.0).reshape(5, 5)))
        grads.append(lib.np(x.grad))
    x = lib.t(np.arange(4.0), True)
    y = x + 0
    y[y > 1] = 0
    y.sum().backward()
    return grads + [lib.np(x.grad)]


def _setitem_tensor_value(lib):
    x, v = lib.t(np.ones((5, 5)), True), lib.t(np.full(5, 7.0), True)
    y = x + 2
    y[3] = v
    y.backward(lib.t(np.arange(25.0).reshape(5, 5)))
    b, c = lib.t([1.0, 2.0, 3.0], True), lib.t(np.zeros(3))
    idx = np.array([1, 2]) if lib.name == "tl" else torch.tensor([1, 2])
    src = np.array([1, 1]) if lib.name == "tl" else torch.tensor([1, 1])
    c[idx] = b[src]
    c.backward(lib.t([1.0, 2.0, 4.0]))
    return [lib.np(x.grad), lib.np(v.grad), lib.np(b.grad)]


def _leaf_assignment(lib):
    x, y, z = lib.t(np.zeros((3, 2))), lib.t([1.0, 2.0], True), lib.t([3.0, 4.0], True)
    x[0] = y
    x[1] = 2 * z
    x.sum().backward()
    w = lib.t(np.zeros((2, 3, 4)))
    u = lib.t(np.arange(4.0), True)
    w[1] = u
    w.backward(lib.t(np.arange(24.0).reshape(2, 3, 4)))
    return [x.requires_grad, lib.np(y.grad), lib.np(z.grad), lib.np(u.grad)]


def _no_grad_assignment(lib):
    x = lib.t(np.ones((2, 2)), True)
    with lib.no_grad():
        x[0] = lib.t([5.0, 6.0])
    return [x.requires_grad, x.grad_fn is None, lib.np(x)]


def _inplace_after_use(lib):
    x, y = lib.t(np.ones(3), True), lib.t(np.ones(3) * 4, True)
    z = x * y
    q, w = z + y, z * y
    z.add_(2)
    q.backward(lib.t(np.ones(3)), retain_graph=True)  # add saved nothing: fine
    with pytest.raises(RuntimeError):
        w.backward(lib.t(np.ones(3)))  # mul saved z, which changed
    a = lib.t(np.ones(3))
    a += y  # a tensor without grad takes one in place
    return [lib.np(x.grad), a.requires_grad]


def _no_grad_modifies_version(lib):
    x, y = lib.t(np.ones(3), True), lib.t(np.ones(3), True)
    z = (x * y).sum()
    with lib.no_grad():
        x *= 2
    with pytest.raises(RuntimeError):
        z.backward()
    return True


def _backward_copy(lib):
    x, y = lib.t(np.ones(2), True), lib.t(np.ones(2), True)
    a, b, c = x + 2, y + 2, x + 2
    add2 = a + b + c
    for _ in range(4):
        a, b, c = a * 2, b * 2, c * 2
    (add2 + a + b + c).backward(lib.t(np.ones(2)))
    return [lib.np(x.grad), lib.np(y.grad)]


def _isolated_node(lib):
    x, y = lib.t(np.ones((3, 3)), True), lib.t(np.arange(9.0).reshape(3, 3), True)
    a = x + y
    indices = a.max(dim=1, keepdim=True)[1]
    b = indices.astype(np.float64) if lib.name == "tl" else indices.double()
    (b + a).sum().backward()
    return lib.np(x.grad)


def _sum_to_empty(lib):
    a, b = lib.t(np.zeros((4, 0)), True), lib.t(np.ones((4, 1)), True)
    c = a + b
    c.sum().backward()
    return [list(c.shape), lib.np(b.grad), list(a.grad.shape)]


def _grad_accumulates_and_resets(lib):
    x = lib.t([1.0, 2.0], True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    twice = lib.np(x.grad)
    x.grad.zero_()
    (x * 3).sum().backward()
    zeroed = lib.np(x.grad)
    x.grad = None
    (x * 5).sum().backward()
    return [twice, zeroed, lib.np(x.grad)]


def _hook_of_a_tensor_used_twice(lib):
    x = lib.t([1.0, 2.0], True)
    y = x * 2
    calls = []
    y.register_hook(lambda g: calls.append(lib.np(g)))
    (y * y + y).sum().backward()
    return [calls, lib.np(x.grad)]


def _retain_grad_and_hooks_in_either_order(lib):
    grads = []
    for hook_first in (False, True):
        x = lib.t([1.0, 2.0], True)
        y = x * 2
        if hook_first:
            y.register_hook(lambda g: g * 3)
        y.retain_grad()
        if not hook_first:
            y.register_hook(lambda g: g * 3)
        (y * y).sum().backward()
        grads += [lib.np(y.grad), lib.np(x.grad)]
    return grads


def _in_place_on_views(lib):
    x = lib.t([[1.0, 2.0], [3.0, 4.0]], True)
    y = x * 1
    y[0].mul_(2)
    column = y[:, 1]
    column.add_(y[:, 0])
    (y * y).sum().backward()
    first = lib.np(x.grad)
    x.grad = None
    z = x * 1
    tail = z[1:]
    z.mul_(2)  # the view sees its base's change
    (tail * tail).sum().backward()
    return [first, lib.np(x.grad)]


def _backward_through_a_grad_made_with_create_graph(lib):
    x = lib.t([1.0, 2.0], True)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    scalar_and_tensor = lib.grad([(x * x).sum(), x * 2], x, grad_outputs=[None, lib.t([1.0, 1.0])])
    return [lib.np(x.grad), lib.np(scalar_and_tensor[0])]


ENGINE = [
    _hook_of_a_tensor_used_twice,
    _retain_grad_and_hooks_in_either_order,
    _in_place_on_views,
    _backward_through_a_grad_made_with_create_graph,
    _hessian_vector,
    _grad_of_nonleaf_chain,
    _grad_wrt_chunks,
    _unreachable,
    _hooks,
    _retain_grad,
    _backward_with_inputs,
    _requires_grad_,
    _no_grad,
    _detach_,
    _setitem,
    _setitem_tensor_value,
    _leaf_assignment,
    _no_grad_assignment,
    _inplace_after_use,
    _no_grad_modifies_version,
    _backward_copy,
    _isolated_node,
    _sum_to_empty,
    _grad_accumulates_and_resets,
]


@pytest.mark.parametrize("program", ENGINE, ids=[f.__name__.strip("_") for f in ENGINE])
def test_engine_behaves_as_pytorch(program):
    ours, theirs = both(program)
    assert ours == theirs


@pytest.mark.parametrize(
    "program",
    [
        lambda lib: lib.grad(lib.t([1.0]) ** 2, lib.t([1.0])),  # nothing requires grad
        lambda lib: lib.t([1.0]).sum().backward(),
        lambda lib: (lib.t([1.0, 2.0], True) * 2).backward(),  # not a scalar
        lambda lib: lib.grad([lib.t(np.ones((2, 2)), True) * 2], [lib.t(np.ones((2, 2)), True)]),  # unused input
        lambda lib: (lambda x: lib.grad([x * 2], [x], grad_outputs=[lib.t([1.0, 1.0])]))(lib.t(np.ones((2, 2)), True)),
        lambda lib: (lambda y: (y.backward(), y.backward()))((lib.t([1.0, 2.0], True) ** 2).sum()),  # freed
        lambda lib: (lambda x: (x * 2).requires_grad_(False))(lib.t([1.0], True)),  # not a leaf
        lambda lib: lib.t([1.0, 2.0], True).__setitem__(0, 2.0),  # a leaf that requires grad
    ],
    ids=[
        "grad_nothing",
        "backward_nothing",
        "non_scalar",
        "unused",
        "grad_output_shape",
        "freed",
        "nonleaf",
        "leaf_set",
    ],
)
def test_engine_refuses_as_pytorch(program):
    with pytest.raises(Exception):  # noqa: B017 - the types differ between the libraries
        program(LIBS["torch"])
    with pytest.raises((RuntimeError, ValueError)):
        program(LIBS["tl"])


def _backward_twice_without_saved_values(lib):
    x = lib.t([1.0, 2.0], True)
    y = (x + 1).sum()
    y.backward()
    y.backward()  # add and sum saved nothing: PyTorch needs no retain_graph
    return lib.np(x.grad)


def _backward_of_several_roots(lib):
    x, q = lib.t([1.0, 2.0], True), lib.t([3.0, 4.0], True)
    q2 = q * 2
    z, c = x + q2, x * q2
    backward = torch.autograd.backward if lib.name == "torch" else tl.backward
    backward([z, c, c], [lib.t([1.0, 1.0]), lib.t([2.0, 3.0]), lib.t([1.0, -1.0])])  # c twice: both count
    return [lib.np(x.grad), lib.np(q.grad)]


def _materialize_grads(lib):
    x, y = lib.t([1.0], True), lib.t([1.0], True)
    return [lib.np(g) for g in lib.grad(x * 2, [x, y], allow_unused=True, materialize_grads=True)]


def _del_grad(lib):
    x = lib.t([1.0], True)
    (x * 2).sum().backward()
    del x.grad
    return x.grad


def _exp_(lib):
    x = lib.t([0.5, 1.0], True)
    y = x * 1
    y.exp_()
    y.sum().backward()
    return lib.np(x.grad)


def _checkpoint_use_reentrant(lib):
    x = lib.t([0.5, -1.0], True)
    fn = tl.checkpoint if lib.name == "tl" else torch.utils.checkpoint.checkpoint
    fn(lambda a: (a.tanh() * a).exp(), x, use_reentrant=False).sum().backward()
    return lib.np(x.grad)


@pytest.mark.parametrize(
    "program",
    [
        _backward_twice_without_saved_values,
        _backward_of_several_roots,
        _materialize_grads,
        _del_grad,
        _exp_,
        _checkpoint_use_reentrant,
    ],
)
def test_engine_matches_pytorch(program):
    ours, theirs = both(program)
    assert ours == theirs


@pytest.mark.parametrize("method", ["exp_", "log_", "sqrt_", "tanh_", "sigmoid_", "relu_", "neg_", "abs_"])
def test_in_place_elementwise_methods(method):
    def program(lib):
        x = lib.t([0.5, 1.5, 2.0], True)
        y = x * 1 - 0.75  # a non-leaf holding negative values too (log_ and sqrt_ give NaN there)
        out = getattr(y, method)()
        (g,) = lib.grad((y * y).sum(), x, create_graph=True)
        (h,) = lib.grad(g.sum(), x)
        return [out is y, *(np.round(lib.np(v), 12).tolist() for v in (y, g, h))]

    ours, theirs = both(program)
    np.testing.assert_equal(ours, theirs)


def _backward_of_mismatched_counts(lib):
    x = lib.t([1.0, 2.0], True)
    backward = torch.autograd.backward if lib.name == "torch" else tl.backward
    backward([x * 2, x * 3], [lib.t([1.0, 1.0])])


def _materialize_with_allow_unused_false(lib):
    x, y = lib.t([1.0], True), lib.t([1.0], True)
    lib.grad(x * 2, [x, y], allow_unused=False, materialize_grads=True)


def _exp_of_a_leaf(lib):
    lib.t([1.0], True).exp_()


@pytest.mark.parametrize(
    "program", [_backward_of_mismatched_counts, _materialize_with_allow_unused_false, _exp_of_a_leaf]
)
def test_engine_refuses_these_as_pytorch_does(program):
    with pytest.raises(Exception):  # noqa: B017 - the types differ between the libraries
        program(LIBS["torch"])
    with pytest.raises((RuntimeError, ValueError)):
        program(LIBS["tl"])


# ---- custom Functions ------------------------------------------------------------------------------------
# test_autograd: test_function, test_function_returns_input, test_function_returns_undefined_tensor,
# test_invalid_gradients, test_save_none_for_backward, test_mark_non_differentiable_mixed,
# test_return_duplicate, test_custom_function_exception, test_no_grad_python_function; PyTorch 2's setup_context


def _function(lib):
    return tl.Function if lib.name == "tl" else torch.autograd.Function


def _returns_input(lib):
    class Identity(_function(lib)):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    grads = []
    for shape in [(1,), ()]:
        v = lib.t(np.ones(shape), True)
        Identity.apply(v).backward()
        grads.append(lib.np(v.grad))
        v.grad = None
        Identity.apply(v * 1).backward()
        grads.append(lib.np(v.grad))
    return grads


def _returns_none(lib):
    class Dead(_function(lib)):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return None

    x = lib.t([1.0], True)
    Dead.apply(x).backward()
    first = x.grad
    Dead.apply(x**2).backward()
    return [first, x.grad, lib.grad(Dead.apply(x), x, allow_unused=True)[0]]


def _python_scalar_and_create_graph(lib):
    class Mixed(_function(lib)):
        @staticmethod
        def forward(ctx, a, scale, b):
            ctx.scale = scale
            ctx.save_for_backward(a, b)
            return a + scale * b + a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g + g * b, None, g * ctx.scale + g * a

    x, y = lib.t([[1.0, 2.0], [3.0, 4.0]], True), lib.t([[0.5, -1.0], [2.0, 0.0]], True)
    Mixed.apply(x, 2, y).sum().backward(lib.t(1.0, True), create_graph=True)
    return [lib.np(x.grad), lib.np(y.grad), x.grad.requires_grad]


def _needs_input_grad_and_save_none(lib):
    seen = []

    class Square(_function(lib)):
        @staticmethod
        def forward(ctx, x, y):
            seen.append(tuple(ctx.needs_input_grad))
            ctx.save_for_backward(None, x, None)
            return x * x + y

        @staticmethod
        def backward(ctx, g):
            n1, x, n2 = ctx.saved_tensors
            assert n1 is None and n2 is None
            return 2 * x * g, None

    x = lib.t([1.0, 3.0], True)
    Square.apply(x, lib.t([1.0, 1.0])).sum().backward()
    return [seen, lib.np(x.grad)]


def _non_differentiable_and_duplicate_outputs(lib):
    class Two(_function(lib)):
        @staticmethod
        def forward(ctx, x):
            a, b = x + 1, x * 2
            ctx.mark_non_differentiable(a)
            return a, b, b

        @staticmethod
        def backward(ctx, ga, gb, gb2):
            return gb * 2 + gb2 * 2

    x = lib.t(np.ones(3), True)
    a, b, c = Two.apply(x)
    (b + c).sum().backward()
    return [a.requires_grad, b.requires_grad, lib.np(x.grad)]


def _setup_context(lib):
    class Square(_function(lib)):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * g * x

    x = lib.t([1.0, 2.0], True)
    Square.apply(x).sum().backward()
    return lib.np(x.grad)


def _under_no_grad(lib):
    class Plus(_function(lib)):
        @staticmethod
        def forward(ctx, x):
            return x + 1

        @staticmethod
        def backward(ctx, g):
            return g

    x = lib.t([1.0], True)
    with lib.no_grad():
        y = Plus.apply(x)
    return [y.requires_grad, x.requires_grad]


FUNCTIONS = [
    _returns_input,
    _returns_none,
    _python_scalar_and_create_graph,
    _needs_input_grad_and_save_none,
    _non_differentiable_and_duplicate_outputs,
    _setup_context,
    _under_no_grad,
]


@pytest.mark.parametrize("program", FUNCTIONS, ids=[f.__name__.strip("_") for f in FUNCTIONS])
def test_custom_functions(program):
    ours, theirs = both(program)
    assert ours == theirs


@pytest.mark.parametrize("name", ["tl", "torch"])
def test_custom_function_wrong_gradient_shape_and_exceptions_are_errors(name):
    lib = LIBS[name]

    class Wrong(_function(lib)):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return lib.t(np.ones(10))

    class Raises(_function(lib)):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            raise ArithmeticError("simulated error in backward")

    with pytest.raises(RuntimeError, match="shape"):
        Wrong.apply(lib.t(np.ones((5, 5)), True)).sum().backward()
    with pytest.raises(ArithmeticError, match="simulated"):
        Raises.apply(lib.t([1.0], True)).sum().backward()


# ---- function transforms -----------------------------------------------------------------------------------
# test_autograd's TestAutogradFunctional: test_vjp, test_jvp, test_jacobian, test_hessian, test_hvp, test_vhp


def _transform(lib, which):
    import torch.autograd.functional as AF

    fn = getattr(tl if lib.name == "tl" else AF, which)
    xs = (lib.t(X234[0]), lib.t(X234[1]))
    f = lambda a, b: (a * b.exp()).tanh().sum(dim=0)  # noqa: E731
    scalar = lambda a, b: f(a, b).sum()  # noqa: E731
    ones = (lib.t(np.ones((3, 4))), lib.t(np.ones((3, 4))))
    result = {
        "jacobian": lambda: fn(f, xs),
        "hessian": lambda: fn(scalar, xs),
        "vjp": lambda: fn(f, xs, lib.t(np.ones(4))),
        "jvp": lambda: fn(f, xs, ones),
        "hvp": lambda: fn(scalar, xs, ones),
        "vhp": lambda: fn(scalar, xs, (lib.t(X234[1]), lib.t(X234[0]))),
    }[which]()
    return [lib.np(r) for r in _flat(result)]


@pytest.mark.parametrize("which", ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"])
def test_transforms(which):
    ours, theirs = both(lambda lib: _transform(lib, which))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# ---- losses ----------------------------------------------------------------------------------------------------
# test_nn: test_bce_with_logits_has_correct_grad_at_zero, test_bce_with_logits_stability,
# test_bce_with_logits_with_pos_weight_has_correct_grad_at_zero, test_bce_with_logits_broadcasts_weights,
# test_bce_with_logits_ones_in_pos_weights_are_the_same_as_none, test_cross_entropy_loss_precision,
# test_cross_entropy_label_smoothing_consistent_index_target_and_probs, test_nll_loss_empty_tensor_reduction_none
# (and _mean, _sum), test_nll_loss_total_weight_is_zero, test_softplus_low_threshold,
# test_smoothl1loss_negative_beta_not_supported, test_one_hot; the criterion tests of L1Loss, SmoothL1Loss,
# HuberLoss, BCELoss and KLDivLoss in PyTorch's common_nn

LOGITS = RNG.standard_normal((4, 5))
PROBS = RNG.dirichlet(np.ones(5), size=4)
TARGET = A([1, 0, 4, 2])
WEIGHT = A([0.5, 1.0, 2.0, 1.5, 0.25])
ZERO_WEIGHT = A([0.0, 1.0, 0.0, 1.0, 1.0])
UNIT = RNG.uniform(0.05, 0.95, (4, 5))


def _losses():
    cases = {}
    for red in ("mean", "sum", "none"):
        cases[f"bce_with_logits at logit 0 ({red})"] = (
            lambda a, t, r=red: F.binary_cross_entropy_with_logits(a, t, reduction=r),
            lambda a, t, r=red: TF.binary_cross_entropy_with_logits(a, t, reduction=r),
            [np.zeros(3), A([0.0, 0.5, 1.0])],
        )
        cases[f"nll_loss of an empty batch ({red})"] = (
            lambda a, t, r=red: F.nll_loss(a, t, reduction=r),
            lambda a, t, r=red: TF.nll_loss(a, t, reduction=r),
            [np.zeros((0, 5)), np.zeros(0, dtype=np.int64)],
        )
        cases[f"cross_entropy of an empty batch ({red})"] = (
            lambda a, t, r=red: F.cross_entropy(a, t, reduction=r),
            lambda a, t, r=red: TF.cross_entropy(a, t, reduction=r),
            [np.zeros((0, 5)), np.zeros(0, dtype=np.int64)],
        )
        cases[f"l1_loss ({red})"] = (
            lambda a, t, r=red: F.l1_loss(a, t, reduction=r),
            lambda a, t, r=red: TF.l1_loss(a, t, reduction=r),
            [LOGITS, np.where(np.arange(20).reshape(4, 5) % 3 == 0, LOGITS, PROBS)],  # some equal: gradient 0
        )
        cases[f"binary_cross_entropy weighted ({red})"] = (
            lambda a, t, r=red: F.binary_cross_entropy(a, t, weight=WEIGHT, reduction=r),
            lambda a, t, r=red: TF.binary_cross_entropy(a, t, weight=torch.tensor(WEIGHT), reduction=r),
            [UNIT, PROBS],
        )
        cases[f"kl_div, zeros in the target ({red})"] = (  # (their gradient: PyTorch's is NaN, ours 0)
            lambda a, t, r=red: F.kl_div(a.log_softmax(dim=1), t, reduction=r),
            lambda a, t, r=red: TF.kl_div(a.log_softmax(dim=1), t, reduction=r),
            [LOGITS, np.where(PROBS > 0.2, PROBS, 0.0), [0]],
        )
    for beta in (0.0, 0.5, 2.0):
        cases[f"smooth_l1_loss beta={beta}"] = (
            lambda a, t, b=beta: F.smooth_l1_loss(a, t, beta=b),
            lambda a, t, b=beta: TF.smooth_l1_loss(a, t, beta=b),
            [LOGITS, PROBS],
        )
        if beta:
            cases[f"huber_loss delta={beta}"] = (
                lambda a, t, b=beta: F.huber_loss(a, t, delta=b, reduction="sum"),
                lambda a, t, b=beta: TF.huber_loss(a, t, delta=b, reduction="sum"),
                [LOGITS, PROBS],
            )
    cases.update(
        {
            "bce_with_logits pos_weight at logit 0": (
                lambda a, t: F.binary_cross_entropy_with_logits(a, t, pos_weight=A([3.0])),
                lambda a, t: TF.binary_cross_entropy_with_logits(a, t, pos_weight=torch.tensor([3.0])),
                [np.zeros(3), A([0.0, 0.5, 1.0])],
            ),
            "bce_with_logits of +-1000": (
                lambda a, t: F.binary_cross_entropy_with_logits(a, t),
                lambda a, t: TF.binary_cross_entropy_with_logits(a, t),
                [A([-1000.0, 1000.0, 0.0]), A([1.0, 0.0, 1.0])],
            ),
            "bce_with_logits pos_weight of ones is none": (
                lambda a, t: F.binary_cross_entropy_with_logits(a, t, pos_weight=np.ones(5)),
                lambda a, t: TF.binary_cross_entropy_with_logits(a, t),
                [LOGITS, UNIT],
            ),
            "bce_with_logits (1, C) weight": (
                lambda a, t: F.binary_cross_entropy_with_logits(a, t, weight=np.full((1, 5), 2.0)),
                lambda a, t: TF.binary_cross_entropy_with_logits(a, t, weight=torch.full((1, 5), 2.0)),
                [LOGITS, UNIT],
            ),
            "cross_entropy smoothing: index and one-hot targets agree": (
                lambda a: (
                    F.cross_entropy(a, TARGET, label_smoothing=0.3)
                    - F.cross_entropy(a, np.eye(5)[TARGET], label_smoothing=0.3)
                ),
                lambda a: (
                    TF.cross_entropy(a, torch.tensor(TARGET), label_smoothing=0.3)
                    - TF.cross_entropy(a, torch.eye(5, dtype=torch.float64)[TARGET], label_smoothing=0.3)
                ),
                [LOGITS],
            ),
            "cross_entropy of logits 1000 apart": (
                lambda a, t: F.cross_entropy(a, t),
                lambda a, t: TF.cross_entropy(a, t),
                [A([[1000.0, 0.0], [0.0, 1000.0]]), A([0, 0])],
            ),
            "cross_entropy, a -inf logit, smoothing": (
                lambda a, t: F.cross_entropy(a, t, label_smoothing=0.1),
                lambda a, t: TF.cross_entropy(a, t, label_smoothing=0.1),
                [A([[0.0, -np.inf, 1.0], [2.0, 1.0, 0.0]]), A([0, 1])],
            ),
            "cross_entropy (N, C, d) probabilities": (
                lambda a, t: F.cross_entropy(a, t),
                lambda a, t: TF.cross_entropy(a, t),
                [RNG.standard_normal((2, 5, 3)), RNG.dirichlet(np.ones(5), size=(2, 3)).transpose(0, 2, 1).copy()],
            ),
            "cross_entropy, ignore_index in range, smoothing": (
                lambda a, t: F.cross_entropy(a, t, ignore_index=2, label_smoothing=0.3),
                lambda a, t: TF.cross_entropy(a, t, ignore_index=2, label_smoothing=0.3),
                [LOGITS, TARGET],
            ),
            "nll_loss, total weight 0 is NaN": (
                lambda a, t: F.nll_loss(a.log_softmax(dim=1), t, weight=ZERO_WEIGHT),
                lambda a, t: TF.nll_loss(a.log_softmax(dim=1), t, weight=torch.tensor(ZERO_WEIGHT)),
                [LOGITS, A([0, 2, 0, 2])],
            ),
            "softplus with a low threshold": (
                lambda a: F.softplus(a, beta=1, threshold=0.5),
                lambda a: TF.softplus(a, beta=1, threshold=0.5),
                [RNG.standard_normal(6)],
            ),
            "binary_cross_entropy target requires grad": (
                lambda a, t: F.binary_cross_entropy(a, t),
                lambda a, t: TF.binary_cross_entropy(a, t),
                [UNIT, UNIT[::-1].copy()],
            ),
            "kl_div batchmean, target requires grad": (
                lambda a, t: F.kl_div(a, t, reduction="batchmean"),
                lambda a, t: TF.kl_div(a, t, reduction="batchmean"),
                [np.log(PROBS), PROBS[::-1].copy()],
            ),
            "kl_div log_target": (
                lambda a, t: F.kl_div(a, t, reduction="sum", log_target=True),
                lambda a, t: TF.kl_div(a, t, reduction="sum", log_target=True),
                [np.log(PROBS), np.log(PROBS[::-1])],
            ),
            "l1_loss broadcasts a target (with a warning)": (
                lambda a, t: F.l1_loss(a, t),
                lambda a, t: TF.l1_loss(a, t),
                [LOGITS, PROBS[0]],
            ),
        }
    )
    return cases


LOSSES = _losses()


@pytest.mark.parametrize("name", list(LOSSES))
def test_losses(name):
    ours, theirs, arrays = LOSSES[name]
    arrays = list(arrays)
    needs_grad = arrays.pop() if isinstance(arrays[-1], list) else None
    differential(ours, theirs, *arrays, needs_grad=needs_grad)


def test_binary_cross_entropy_at_probabilities_0_and_1():
    """The logs are clamped at -100 as PyTorch's, so the loss matches; the gradient is the derivative
    of the loss, ((1 - t) / (1 - p) - t / p) / n, where it is finite (PyTorch's formula divides
    (p - t) by max(p (1 - p), 1e-12) and gives 0 at p = t = 0 and p = t = 1, not 1/n and -1/n), and
    0 through a clamped log."""
    p, t = A([0.0, 1.0, 0.5, 0.0, 1.0]), A([0.0, 1.0, 1.0, 1.0, 0.0])
    x = tl.Tensor(p.copy(), requires_grad=True)
    loss = F.binary_cross_entropy(x, t)
    _same(loss, TF.binary_cross_entropy(torch.tensor(p), torch.tensor(t)), "loss")
    loss.backward()
    n = len(p)
    _same(x.grad, A([1.0, -1.0, -2.0, 0.0, 0.0]) / n, "gradient")


def test_normalize_keeps_a_zero_row_zero():
    """First order only: the 2-norm's second order at 0 is NaN in PyTorch, 0 here."""
    differential(lambda a: F.normalize(a), lambda a: TF.normalize(a), np.vstack([X34, np.zeros(4)]), order=1)


@pytest.mark.parametrize(
    "call",
    [
        lambda F_, t: F_.binary_cross_entropy(t(A([1.5, 0.5])), t(A([1.0, 0.0]))),  # not a probability
        lambda F_, t: F_.binary_cross_entropy(t(A([0.5, 0.5])), t(A([1.0]))),  # shapes differ
        lambda F_, t: F_.smooth_l1_loss(t(A([0.5])), t(A([1.0])), beta=-1.0),
        lambda F_, t: F_.huber_loss(t(A([0.5])), t(A([1.0])), delta=0.0),
        lambda F_, t: F_.l1_loss(t(np.ones((2, 3))), t(np.ones(2))),  # does not broadcast
        lambda F_, t: F_.one_hot(t(A([0, 3])).long() if F_ is TF else t(A([0, 3])), 3),  # 3 >= num_classes
        lambda F_, t: F_.one_hot(t(A([-1, 0])).long() if F_ is TF else t(A([-1, 0]))),
        lambda F_, t: F_.embedding(t(A([4])), t(np.ones((4, 2)))),
        lambda F_, t: F_.linear(t(np.ones((2, 3))), t(np.ones((4, 2)))),
    ],
)
def test_functional_refuses_as_pytorch(call):
    with pytest.raises(Exception):  # noqa: B017 - the types differ between the libraries
        call(TF, torch.tensor)
    with pytest.raises((ValueError, IndexError, TypeError)):
        call(F, tl.tensor)


# ---- functional layers, padding and in-place activations ---------------------------------------------------------
# test_nn: test_pad_scalar_error, test_embedding_functional, test_embedding_padding_idx, test_inplace_thnn; the
# module tests of ReflectionPad, ReplicationPad, CircularPad (F.pad modes), Softmin, LogSigmoid in PyTorch's common_nn

W53 = RNG.standard_normal((3, 5))
FUNCTIONAL = {
    "linear": (
        lambda a, w, b: F.linear(a, w, b),
        lambda a, w, b: TF.linear(a, w, b),
        [LOGITS, W53, RNG.standard_normal(3)],
    ),
    "linear without bias, 3-D input": (
        lambda a, w: F.linear(a, w),
        lambda a, w: TF.linear(a, w),
        [X234[..., :4], W53[:, :4]],
    ),
    "embedding with repeats and padding_idx": (
        lambda i, w: F.embedding(i, w, padding_idx=1),
        lambda i, w: TF.embedding(i, w, padding_idx=1),
        [A([[1, 2, 1], [0, 1, 3]]), RNG.standard_normal((4, 3))],
    ),
    "one_hot": (lambda t: F.one_hot(t), lambda t: TF.one_hot(t), [A([[1, 0], [4, 2]])]),
    "one_hot with num_classes": (lambda t: F.one_hot(t, 6), lambda t: TF.one_hot(t, 6), [A([1, 0, 4])]),
    "normalize p=1 dim=0": (lambda a: F.normalize(a, p=1, dim=0), lambda a: TF.normalize(a, p=1, dim=0), [X34]),
    "logsigmoid of extremes": (F.logsigmoid, TF.logsigmoid, [A([-1000.0, -5.0, 0.0, 5.0, 1000.0])]),
    "softmin": (lambda a: F.softmin(a, dim=1), lambda a: TF.softmin(a, dim=1), [LOGITS]),
    "softmax(dtype=)": (
        lambda a: F.softmax(a, 1, dtype=np.float64),
        lambda a: TF.softmax(a, 1, dtype=torch.float64),
        [LOGITS],
    ),
    "pad(x, pad, 'constant', value) positional": (
        lambda a: F.pad(a, (1, 2), "constant", 0.5),
        lambda a: TF.pad(a, (1, 2), "constant", 0.5),
        [LOGITS],
    ),
    "pad reflect": (lambda a: F.pad(a, (1, 2), mode="reflect"), lambda a: TF.pad(a, (1, 2), mode="reflect"), [LOGITS]),
    "pad reflect 2 axes": (
        lambda a: F.pad(a, (1, 2, 2, 1), "reflect"),
        lambda a: TF.pad(a, (1, 2, 2, 1), "reflect"),
        [X234],
    ),
    "pad replicate": (
        lambda a: F.pad(a, (2, 3, 0, 1), mode="replicate"),
        lambda a: TF.pad(a, (2, 3, 0, 1), mode="replicate"),
        [X234],
    ),
    "pad circular": (lambda a: F.pad(a, (3, 1), mode="circular"), lambda a: TF.pad(a, (3, 1), mode="circular"), [X234]),
    "pad circular, negative crops": (
        lambda a: F.pad(a, (-1, 2), mode="circular"),
        lambda a: TF.pad(a, (-1, 2), mode="circular"),
        [X234],
    ),
    "pad reflect as large as the axis is refused": (
        lambda a: F.pad(a, (5, 0), mode="reflect"),
        lambda a: TF.pad(a, (5, 0), mode="reflect"),
        [LOGITS],
    ),
    "pad reflect of a 1-D input is refused": (
        lambda a: F.pad(a, (1, 1), mode="reflect"),
        lambda a: TF.pad(a, (1, 1), mode="reflect"),
        [LOGITS[0]],
    ),
}


@pytest.mark.parametrize("name", list(FUNCTIONAL))
def test_functional(name):
    ours, theirs, arrays = FUNCTIONAL[name]
    differential(ours, theirs, *arrays, refuses=name.endswith("is refused"))


INPLACE = {
    "relu": (lambda x: F.relu(x, inplace=True), lambda x: TF.relu(x, inplace=True)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2, inplace=True), lambda x: TF.leaky_relu(x, 0.2, inplace=True)),
    "elu": (lambda x: F.elu(x, 0.5, inplace=True), lambda x: TF.elu(x, 0.5, inplace=True)),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.5, inplace=True), lambda x: TF.hardtanh(x, -0.5, 0.5, inplace=True)),
    "silu": (lambda x: F.silu(x, inplace=True), lambda x: TF.silu(x, inplace=True)),
    "dropout p=1": (lambda x: F.dropout(x, 1.0, inplace=True), lambda x: TF.dropout(x, 1.0, inplace=True)),
    "nn.ReLU(inplace=True)": (tl.nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
    "nn.LeakyReLU(0.1, True)": (tl.nn.LeakyReLU(0.1, True), torch.nn.LeakyReLU(0.1, True)),
    "nn.ELU(inplace=True)": (tl.nn.ELU(inplace=True), torch.nn.ELU(inplace=True)),
    "nn.Hardtanh(inplace=True)": (tl.nn.Hardtanh(inplace=True), torch.nn.Hardtanh(inplace=True)),
    "nn.SiLU(inplace=True)": (tl.nn.SiLU(inplace=True), torch.nn.SiLU(inplace=True)),
    "nn.Dropout(1.0, inplace=True)": (tl.nn.Dropout(1.0, inplace=True), torch.nn.Dropout(1.0, inplace=True)),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_activations_write_into_their_input(name):
    """The result is the input tensor, changed; the gradient flows as PyTorch's; a leaf that requires
    grad is refused."""
    got = []
    for lib, fn in zip(LIBS.values(), INPLACE[name]):
        a = lib.t([-1.5, -0.25, 0.0, 0.3, 2.0], True)
        y = a * 2
        out = fn(y)
        assert out is y, lib.name
        (y * y).sum().backward()
        got.append([lib.np(y), lib.np(a.grad)])
        with pytest.raises(RuntimeError):
            fn(lib.t([1.0, 2.0], True))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12)


@pytest.mark.parametrize(
    "ours, theirs, arrays",
    [
        (tl.nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), [LOGITS, PROBS]),
        (tl.nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), [LOGITS, PROBS]),
        (tl.nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), [LOGITS, PROBS]),
        (tl.nn.BCELoss(weight=WEIGHT), torch.nn.BCELoss(weight=torch.tensor(WEIGHT)), [UNIT, PROBS]),
        (tl.nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"), [np.log(PROBS), PROBS]),
        (
            tl.nn.KLDivLoss(reduction="sum", log_target=True),
            torch.nn.KLDivLoss(reduction="sum", log_target=True),
            [LOGITS, LOGITS],
        ),
    ],
    ids=["L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "KLDivLoss", "KLDivLoss_log_target"],
)
def test_loss_modules(ours, theirs, arrays):
    differential(ours, theirs, *arrays)


# ---- modules, clipping and optimizers -------------------------------------------------------------------------------
# test_nn: test_requires_grad_ (Module), test_zero_grad, test_embedding_from_pretrained,
# test_embedding_from_pretrained_padding_idx, test_clip_grad_norm, test_clip_grad_value, test_RNN_dropout_warning,
# test_rnn_args_check, test_RNN_cell_no_broadcasting; test_optim: the closure form of step()


def _params(lib, grads):
    nn = tl.nn if lib.name == "tl" else torch.nn
    params = []
    for g in grads:
        p = nn.Parameter(lib.t(np.zeros(np.shape(g))))
        p.grad = None if g is None else lib.t(g)
        params.append(p)
    return params


GRADS = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]


def _clip(lib, grads, **kw):
    utils = tl.nn.utils if lib.name == "tl" else torch.nn.utils
    params = _params(lib, grads)
    total = utils.clip_grad_norm_(params, **kw)
    return [lib.np(total)] + [lib.np(p.grad) for p in params]


@pytest.mark.parametrize(
    "kw",
    [
        dict(max_norm=1.0),
        dict(max_norm=100.0),
        dict(max_norm=1.0, norm_type=1),
        dict(max_norm=1.0, norm_type=float("inf")),
        dict(max_norm=1.0, norm_type="inf"),
        dict(max_norm=1.0, norm_type=3.0),
        dict(max_norm=0.0),
        dict(max_norm=1.0, foreach=None),
    ],
    ids=str,
)
def test_clip_grad_norm(kw):
    ours, theirs = both(lambda lib: _clip(lib, GRADS, **kw))
    np.testing.assert_allclose(
        np.concatenate([np.ravel(v) for v in ours]), np.concatenate([np.ravel(v) for v in theirs])
    )


@pytest.mark.parametrize("grad", [A([np.nan, 1.0]), A([np.inf, 1.0])], ids=["nan", "inf"])
def test_clip_grad_norm_of_nonfinite_gradients(grad):
    ours, theirs = both(lambda lib: _clip(lib, [grad], max_norm=1.0))
    np.testing.assert_equal(ours, theirs)
    for lib in LIBS.values():
        with pytest.raises(RuntimeError):
            _clip(lib, [grad], max_norm=1.0, error_if_nonfinite=True)


def test_clip_grad_value_and_a_parameter_without_gradient():
    def program(lib):
        utils = tl.nn.utils if lib.name == "tl" else torch.nn.utils
        params = _params(lib, GRADS + [None, A([np.nan, 3.0, -3.0])])
        utils.clip_grad_value_(params, 0.5)
        return [lib.np(p.grad) for p in params]

    ours, theirs = both(program)
    np.testing.assert_equal(ours, theirs)


def _modules(lib):
    nn = tl.nn if lib.name == "tl" else torch.nn
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    m.double()
    frozen = m.requires_grad_(False) is m and not any(p.requires_grad for p in m.parameters())
    m[0].requires_grad_()
    m(lib.t(np.ones((1, 3)))).sum().backward()
    grads = [p.grad is None for p in m.parameters()]
    m.zero_grad()
    return [frozen, [p.requires_grad for p in m.parameters()], grads, [p.grad for p in m.parameters()]]


def _from_pretrained(lib):
    nn = tl.nn if lib.name == "tl" else torch.nn
    w = lib.t(np.arange(6.0).reshape(3, 2))
    frozen = nn.Embedding.from_pretrained(w)
    trained = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    index = A([[2, 1], [1, 0]])
    out = trained(tl.Tensor(index) if lib.name == "tl" else torch.tensor(index))
    out.sum().backward()
    return [frozen.weight.requires_grad, lib.np(frozen.weight), lib.np(out), lib.np(trained.weight.grad)]


def _closure(lib):
    O = tl.optim if lib.name == "tl" else torch.optim  # noqa: N806
    w = (tl.nn.Parameter if lib.name == "tl" else torch.nn.Parameter)(lib.t(np.ones(3)))
    opt = O.SGD([w], lr=0.1, momentum=0.9)
    x = lib.t([1.0, -2.0, 0.5])
    losses = []

    def closure():
        opt.zero_grad()
        loss = ((x * w).sum() - 1.0) ** 2
        loss.backward()
        return loss

    for _ in range(3):
        losses.append(lib.np(opt.step(closure)))
    return np.round([*losses, *lib.np(w)], 12).tolist()  # the same sums, in another order: ulps apart


def _rnn_extras(lib):
    nn = tl.nn if lib.name == "tl" else torch.nn
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gru = nn.GRU(3, 4, dropout=0.5)
        nn.GRU(3, 4, num_layers=2, dropout=0.5)
    gru.flatten_parameters()
    return len(caught)


@pytest.mark.parametrize("program", [_modules, _from_pretrained, _closure, _rnn_extras], ids=lambda f: f.__name__)
def test_module_and_optimizer_habits(program):
    ours, theirs = both(program)
    assert ours == theirs


# ---- recurrent layers to second order ------------------------------------------------------------------------------
# test_nn: test_RNN_cpu_vs_cudnn_* (the values), test_rnn_check_device / test_rnn_args_check (the shapes refused),
# gradgradcheck of the RNN modules in PyTorch's module tests; a batch of zero sequences


def _twins(name, *args, **kw):
    theirs = getattr(torch.nn, name)(*args, **kw).double()
    ours = getattr(tl.nn, name)(*args, **kw, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _recurrent(module, lstm: bool):
    """x, h0[, c0] -> every output flat, with an LSTM's state passed as the tuple it expects."""
    return lambda x, *state: _flat(module(x, tuple(state) if lstm else state[0]))


@pytest.mark.parametrize("name", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("batch", [2, 0], ids=["batch2", "batch0"])
def test_recurrent_layers_second_order(name, batch):
    torch.manual_seed(0)
    ours, theirs = _twins(name, 3, 4, num_layers=2)
    x = RNG.standard_normal((3, batch, 3))
    state = [RNG.standard_normal((2, batch, 4)) for _ in range(2 if name == "LSTM" else 1)]
    differential(_recurrent(ours, name == "LSTM"), _recurrent(theirs, name == "LSTM"), x, *state)


@pytest.mark.parametrize(
    "name, kw",
    [
        ("LSTM", dict(proj_size=2, num_layers=2, bidirectional=True)),
        ("GRU", dict(bidirectional=True, batch_first=True)),
        ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True)),
        ("LSTM", dict(batch_first=True, bias=False)),
    ],
    ids=["LSTM_proj_bidirectional", "GRU_bidirectional_batch_first", "RNN_relu_bidirectional", "LSTM_no_bias"],
)
def test_recurrent_variants_second_order(name, kw):
    torch.manual_seed(0)
    ours, theirs = _twins(name, 3, 4, **kw)
    differential(lambda a: _flat(ours(a)), lambda a: _flat(theirs(a)), RNG.standard_normal((2, 3, 3)))


@pytest.mark.parametrize("name", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cells_second_order(name):
    torch.manual_seed(0)
    ours, theirs = _twins(name, 3, 4)
    x = RNG.standard_normal((2, 3))
    state = [RNG.standard_normal((2, 4)) for _ in range(2 if name == "LSTMCell" else 1)]
    differential(_recurrent(ours, name == "LSTMCell"), _recurrent(theirs, name == "LSTMCell"), x, *state)


@pytest.mark.parametrize(
    "name, x_shape, state_shapes",
    [
        ("LSTM", (3, 2, 3), [(1, 3, 4), (1, 3, 4)]),  # state batch differs from the input's
        ("GRU", (3, 2, 3), [(2, 2, 4)]),  # more layers in the state than in the module
        ("RNN", (3, 2, 5), [(1, 2, 4)]),  # input features differ from input_size
        ("RNN", (0, 2, 3), [(1, 2, 4)]),  # no time steps
        ("GRUCell", (2, 3), [(3, 4)]),  # state batch differs
        ("LSTMCell", (1, 2, 3), [(1, 2, 4), (1, 2, 4)]),  # a cell takes no sequence
    ],
)
def test_recurrent_shapes_refused_as_pytorch(name, x_shape, state_shapes):
    ours, theirs = _twins(name, 3, 4)
    lstm = name.startswith("LSTM")
    arrays = [np.zeros(x_shape)] + [np.zeros(s) for s in state_shapes]
    assert differential(_recurrent(ours, lstm), _recurrent(theirs, lstm), *arrays, refuses=True) is not None


def _max_norm(lib):
    nn = tl.nn if lib.name == "tl" else torch.nn
    weights = np.arange(1.0, 13.0).reshape(6, 2) / 4
    index = A([[1, 2, 1], [5, 0, 1]])
    emb = nn.Embedding.from_pretrained(lib.t(weights), freeze=False, max_norm=1.5, norm_type=1.0)
    out = emb(tl.Tensor(index) if lib.name == "tl" else torch.tensor(index))
    (out * lib.t(np.arange(12.0).reshape(2, 3, 2))).sum().backward()
    w = lib.t(weights.copy(), True)
    fn = F.embedding if lib.name == "tl" else TF.embedding
    with lib.no_grad():
        fn(tl.Tensor(index) if lib.name == "tl" else torch.tensor(index), w, max_norm=2.0)
    return np.round(
        [
            *np.ravel(lib.np(out)),
            *np.ravel(lib.np(emb.weight)),
            *np.ravel(lib.np(emb.weight.grad)),
            *np.ravel(lib.np(w)),
        ],
        12,
    ).tolist()


def test_embedding_max_norm_scales_the_rows_looked_up_in_place():
    ours, theirs = both(_max_norm)
    assert ours == theirs


# ---- what PyTorch code types first, missing here ------------------------------------------------------------
# (no PyTorch test: the spellings of methods in tutorials and copied model code, checked to second order)

MASK = X34 > 0


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("x.contiguous()", lambda a: a.contiguous().view(-1), lambda a: a.contiguous().view(-1)),
        (
            "x.masked_fill(mask, v)",
            lambda a: a.masked_fill(MASK, -1.0),
            lambda a: a.masked_fill(torch.tensor(MASK), -1.0),
        ),
        (
            "x.index_select(0, i)",
            lambda a: a.index_select(0, tl.tensor([2, 0, 2])),
            lambda a: a.index_select(0, torch.tensor([2, 0, 2])),
        ),
        ("x.amax(dim)", lambda a: a.amax(dim=1), lambda a: a.amax(dim=1)),
        ("x.view_as(y)", lambda a: a.view_as(a.T), lambda a: a.view_as(a.T)),
        ("x.new_zeros(shape)", lambda a: a + a.new_zeros(a.shape), lambda a: a + a.new_zeros(a.shape)),
        ("x.neg()", lambda a: a.neg(), lambda a: a.neg()),
        ("x.mul(y), x.add(y)", lambda a: a.mul(a).add(a), lambda a: a.mul(a).add(a)),
        ("x.clamp_min(v)", lambda a: a.clamp_min(0.1), lambda a: a.clamp_min(0.1)),
        ("x.cpu()", lambda a: a.cpu() * 2, lambda a: a.cpu() * 2),
        (
            "x.long() (targets)",
            lambda a: F.cross_entropy(a, (a[:, 0] > 0).long()),
            lambda a: TF.cross_entropy(a, (a[:, 0] > 0).long()),
        ),
        ("x.isnan().any()", lambda a: a.isnan().any(), lambda a: a.isnan().any()),
        ("tl.randn_like(x)", lambda a: a + 0 * tl.randn_like(a), lambda a: a + 0 * torch.randn_like(a)),
        (
            "tl.reshape / tl.transpose / tl.unsqueeze",
            lambda a: tl.unsqueeze(tl.transpose(tl.reshape(a, (4, 3)), 0, 1), 0),
            lambda a: torch.unsqueeze(torch.transpose(torch.reshape(a, (4, 3)), 0, 1), 0),
        ),
    ],
)
def test_methods_pytorch_code_types_first(name, ours, theirs):
    differential(ours, theirs, X34)


SPECIALS = A([[0.0, np.inf, 1.0, 3.0], [np.nan, 2.0, -np.inf, 3.0], [1.0, 1.0, 0.0, -2.0]])
X3D = RNG.standard_normal((2, 3, 4))
MORE = {
    "x.sub(y, alpha=2), x.div(y)": (
        lambda a: a.sub(a * a, alpha=2).div(a * a + 1),
        lambda a: a.sub(a * a, alpha=2).div(a * a + 1),
        [X34],
    ),
    "x.clamp_max(v)": (lambda a: a.clamp_max(0.2), lambda a: a.clamp_max(0.2), [X34]),
    "x.amin(dim=(0, 1)), x.amax() with ties": (
        lambda a: (a.amin(dim=(0, 1)), a.amax()),
        lambda a: (a.amin(dim=(0, 1)), a.amax()),
        [A([[3.0, 1.0, 3.0], [1.0, 2.0, 0.5]])],
    ),
    "x.int(), x.bool()": (lambda a: ((a * 3).int(), a.bool()), lambda a: ((a * 3).int(), a.bool()), [SPECIALS[2:]]),
    "isinf, isfinite, any(dim), all(dim, keepdim)": (
        lambda a: (a.isinf(), a.isfinite(), a.any(dim=1), a.all(dim=0, keepdim=True), a.isinf().all()),
        lambda a: (a.isinf(), a.isfinite(), a.any(dim=1), a.all(dim=0, keepdim=True), a.isinf().all()),
        [SPECIALS],
    ),
    "new_ones, new_full": (
        lambda a: a * a.new_ones(4) + a.new_full((3, 1), 2.0),
        lambda a: a * a.new_ones(4) + a.new_full((3, 1), 2.0),
        [X34],
    ),
    "masked_fill with a 0-d tensor that needs a gradient": (
        lambda a, v: a.masked_fill(MASK, v),
        lambda a, v: a.masked_fill(torch.tensor(MASK), v),
        [X34, A(0.5)],
    ),
    "x.masked_fill_(mask, v) of a result, x.type_as(y)": (
        lambda a: (a * 1).masked_fill_(MASK, 2.0).type_as(a) * a,
        lambda a: (a * 1).masked_fill_(torch.tensor(MASK), 2.0).type_as(a) * a,
        [X34],
    ),
    "masked_fill keeps the dtype of the tensor": (
        lambda a: a.float().masked_fill(MASK, tl.tensor(A(0.5))).double(),
        lambda a: a.float().masked_fill(torch.tensor(MASK), torch.tensor(0.5, dtype=torch.float64)).double(),
        [X34],
    ),
    "x.bmm(y), x.mT of 3-D": (lambda a: a.bmm(a.mT), lambda a: a.bmm(a.mT), [X3D]),
    "x.mm(y) of 3-D is refused": (lambda a: a.mm(a), lambda a: a.mm(a), [X3D]),
    "diagonal(offset=1), diagonal(-1, 0, 2)": (
        lambda a: (a.diagonal(1), a.diagonal(-1, 0, 2)),
        lambda a: (a.diagonal(1), a.diagonal(-1, 0, 2)),
        [X3D],
    ),
    "roll(tuple), roll() flattened": (
        lambda a: (a.roll((1, -2), (0, 2)), a.roll(5)),
        lambda a: (a.roll((1, -2), (0, 2)), a.roll(5)),
        [X3D],
    ),
    "repeat with a new leading axis": (lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3), [X34]),
    "repeat with fewer sizes than axes is refused": (lambda a: a.repeat(2), lambda a: a.repeat(2), [X34]),
    "unflatten with -1, narrow from a negative start, select a negative index": (
        lambda a: (a.unflatten(2, (-1, 2)), a.narrow(1, -2, 2), a.select(0, -1)),
        lambda a: (a.unflatten(2, (-1, 2)), a.narrow(1, -2, 2), a.select(0, -1)),
        [X3D],
    ),
    "narrow past the end is refused": (lambda a: a.narrow(1, 2, 2), lambda a: a.narrow(1, 2, 2), [X3D]),
    "select out of range is refused": (lambda a: a.select(1, 3), lambda a: a.select(1, 3), [X3D]),
    "unflatten into sizes that do not fit is refused": (
        lambda a: a.unflatten(2, (3, 2)),
        lambda a: a.unflatten(2, (3, 2)),
        [X3D],
    ),
    "index_select out of range is refused": (
        lambda a: a.index_select(0, tl.tensor([3])),
        lambda a: a.index_select(0, torch.tensor([3])),
        [X34],
    ),
    "tl.max(x), tl.min(x, y), tl.squeeze(x, dim)": (
        lambda a: (tl.max(a), tl.min(a, a * 2), tl.squeeze(a[:1], 0)),
        lambda a: (torch.max(a), torch.min(a, a * 2), torch.squeeze(a[:1], 0)),
        [X34],
    ),
    "squeeze((0, 1)) drops only the axis of length 1": (
        lambda a: a[:, :1].squeeze((0, 1)),
        lambda a: a[:, :1].squeeze((0, 1)),
        [X34],
    ),
    "0-d tensor: mean, amax, prod, logsumexp over dim 0 or -1": (
        lambda a: (a.mean(dim=-1), a.amax(dim=0), a.prod(dim=0), a.logsumexp(dim=-1)),
        lambda a: (a.mean(dim=-1), a.amax(dim=0), a.prod(dim=0), a.logsumexp(dim=-1)),
        [A(1.5)],
    ),
    "dim 1 of a 0-d tensor is refused": (lambda a: a.sum(dim=1), lambda a: a.sum(dim=1), [A(1.5)]),
}


def test_numpys_any_and_all_take_a_tensor():
    x = tl.tensor(A([[0.0, 1.0], [0.0, 0.0]]))
    assert np.any(x).item() and not np.all(x).item()
    assert np.any(x, axis=1, keepdims=True).tolist() == [[True], [False]]


@pytest.mark.parametrize("name", list(MORE))
def test_more_methods_pytorch_code_types(name):
    ours, theirs, arrays = MORE[name]
    differential(ours, theirs, *arrays, refuses=name.endswith("is refused"))


# ---- third order ---------------------------------------------------------------------------------------------------
# test_autograd's gradgradcheck goes to second order; a tape that records its own backward has no reason to stop there


def _third_order(ours, theirs, x):
    """d/dx of sum((d/dx sum(d/dx sum f))**2), in both libraries."""
    results = []
    for lib, fn in ((LIBS["tl"], ours), (LIBS["torch"], theirs)):
        a = lib.t(x, True)
        (g,) = lib.grad(fn(a).sum(), a, create_graph=True)
        (h,) = lib.grad(g.sum(), a, create_graph=True)
        (t,) = lib.grad((h * h).sum(), a, allow_unused=True)
        results.append(np.zeros(x.shape) if t is None else _array(t))
    return results


THIRD = {
    "tanh, sigmoid": (lambda a: a.tanh() * a.sigmoid(), lambda a: a.tanh() * a.sigmoid()),
    "x ** x": (lambda a: (a * a + 0.5) ** a, lambda a: (a * a + 0.5) ** a),
    "log_softmax": (lambda a: a.log_softmax(dim=1) ** 2, lambda a: a.log_softmax(dim=1) ** 2),
    "logsumexp": (lambda a: a.logsumexp(dim=1) ** 2, lambda a: a.logsumexp(dim=1) ** 2),
    "matmul": (lambda a: (a @ a.T) ** 2, lambda a: (a @ a.T) ** 2),
    "prod": (lambda a: a.prod(dim=1), lambda a: a.prod(dim=1)),
    "std": (lambda a: a.std(dim=1) ** 2, lambda a: a.std(dim=1) ** 2),
    "norm": (lambda a: a.norm(dim=1) ** 3, lambda a: a.norm(dim=1) ** 3),
    "where": (lambda a: tl.where(a > 0, a**3, a.exp()), lambda a: torch.where(a > 0, a**3, a.exp())),
    "gelu": (F.gelu, TF.gelu),
    "bce_with_logits": (
        lambda a: F.binary_cross_entropy_with_logits(a, np.full((3, 4), 0.3), reduction="none"),
        lambda a: TF.binary_cross_entropy_with_logits(
            a, torch.full((3, 4), 0.3, dtype=torch.float64), reduction="none"
        ),
    ),
    "cross_entropy with smoothing": (
        lambda a: F.cross_entropy(a, A([0, 3, 1]), label_smoothing=0.2),
        lambda a: TF.cross_entropy(a, torch.tensor([0, 3, 1]), label_smoothing=0.2),
    ),
    "pad reflect": (lambda a: F.pad(a, (1, 2), mode="reflect") ** 3, lambda a: TF.pad(a, (1, 2), mode="reflect") ** 3),
}


@pytest.mark.parametrize("name", list(THIRD))
def test_third_order(name):
    ours, theirs = _third_order(*THIRD[name], X34)
    _same(ours, theirs, "third order")


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers_third_order(name):
    torch.manual_seed(0)
    ours, theirs = _twins(name, 4, 3)
    got = _third_order(lambda a: ours(a)[0] ** 2, lambda a: theirs(a)[0] ** 2, RNG.standard_normal((2, 2, 4)))
    _same(*got, "third order")
