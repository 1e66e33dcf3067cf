"""PyTorch spellings a PyTorch user types that this engine refused before (AttributeError, TypeError):
each written once for both libraries (``L`` is ``tl`` or ``torch``) and compared with PyTorch in float64
by ``differential``: values, gradients, gradients of gradients, and an error where PyTorch raises."""

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

from .test_pytorch_suite_probes import differential

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # division by zero on purpose, in both libraries
]

A = np.array
RNG = np.random.default_rng(3)
X34 = RNG.standard_normal((3, 4)) * 3
Y34 = RNG.standard_normal((3, 4)) * 2
POS4 = A([0.7, 1.5, 2.0, 3.0])
V3 = A([1.5, -2.0, 0.5])


def case(program, *arrays, **kwargs):
    """One program for both libraries: ``program(L, *tensors)``."""
    return program, arrays, kwargs


def check(program, arrays, kwargs):
    differential(lambda *xs: program(tl, *xs), lambda *xs: program(torch, *xs), *arrays, **kwargs)


# ---- arithmetic -------------------------------------------------------------------------------------------
# remainder and fmod: d/da = 1, d/db = -floor(a / b) and -trunc(a / b), PyTorch's formulas; the rounded
# divisions have gradient 0 (PyTorch's div(rounding_mode=...); its ``//`` has no backward at all, so
# ``//`` is compared with div(rounding_mode="floor"), whose values are the same)

ARITHMETIC = {
    "tl.add(a, b, alpha=)": case(lambda L, a, b: L.add(a, b, alpha=2.5), X34, POS4),
    "tl.sub(a, b, alpha=)": case(lambda L, a, b: L.sub(a, b, alpha=-0.5), X34, POS4),
    "x.add(b, alpha=) integer alpha": case(lambda L, a, b: a.add(b, alpha=3), X34, Y34),
    "x.sub(2, alpha=)": case(lambda L, a: a.sub(2.0, alpha=2), X34),
    "tl.mul": case(lambda L, a, b: L.mul(a, b), X34, POS4),
    "tl.div": case(lambda L, a, b: L.div(a, b), X34, POS4),
    "tl.div(rounding_mode=floor)": case(
        lambda L, a, b: L.div(a, b, rounding_mode="floor"), X34, A([0.7, -1.5, 2.0, -3.0])
    ),
    "tl.div(rounding_mode=trunc)": case(
        lambda L, a, b: L.div(a, b, rounding_mode="trunc"), X34, A([0.7, -1.5, 2.0, -3.0])
    ),
    "x.div(n, rounding_mode=trunc)": case(lambda L, a: a.div(-0.75, rounding_mode="trunc"), X34),
    "rounded division by 0": case(
        lambda L, a, b: (L.div(a, b, rounding_mode="floor"), L.div(a, b, rounding_mode="trunc")),
        A([1.0, -1.0, 0.0, 2.5]),
        A([0.0, 0.0, 0.0, -0.0]),
    ),
    "x % y": case(lambda L, a, b: a % b, X34, A([0.7, -1.5, 2.0, -3.0])),
    "x % n": case(lambda L, a: a % 1.25, X34),
    "x % -n": case(lambda L, a: a % -1.25, X34),
    "tl.remainder broadcast": case(lambda L, a, b: L.remainder(a, b), X34, A([[0.9], [-1.1], [2.0]])),
    "tl.fmod": case(lambda L, a, b: L.fmod(a, b), X34, A([0.7, -1.5, 2.0, -3.0])),
    "tl.fmod(x, n)": case(lambda L, a: L.fmod(a, -1.25), X34),
    "x.remainder, x.fmod": case(lambda L, a, b: a.remainder(b) + a.fmod(b), X34, Y34),
    "remainder at whole quotients": case(
        lambda L, a, b: (a % b, L.fmod(a, b)), A([4.0, -4.0, 3.0, 0.0]), A([2.0, 2.0, -1.5, 2.0])
    ),
    "floor, ceil, trunc, frac": case(
        lambda L, a: (a.floor(), a.ceil(), a.trunc(), a.frac(), L.floor(a)), A([-1.5, -0.5, 0.0, 0.5, 2.7])
    ),
    "x.divide, x.true_divide, x.multiply, x.subtract": case(
        lambda L, a, b: a.divide(b) + a.true_divide(b) + a.multiply(b) + a.subtract(b, alpha=2), X34, POS4
    ),
}


@pytest.mark.parametrize("name", list(ARITHMETIC))
def test_arithmetic_spellings_match_pytorch(name):
    check(*ARITHMETIC[name])


FLOORED = [X34, A([0.7, -1.5, 2.0, -3.0])]


def test_floor_division_operator_gives_pytorchs_values_and_the_zero_gradient_of_its_floor_division():
    floor_div = lambda a, b: torch.div(a, b, rounding_mode="floor")  # noqa: E731
    differential(lambda a, b: a // b, floor_div, *FLOORED)
    differential(lambda a, b: a // b, lambda a, b: a // b, *FLOORED, order=0)  # the operator's own values
    differential(lambda b: 2.5 // b, lambda b: floor_div(torch.full_like(b, 2.5), b), FLOORED[1])
    differential(lambda b: 2.5 // b, lambda b: 2.5 // b, FLOORED[1], order=0)
    differential(lambda a: a.floor_divide(0.6), lambda a: floor_div(a, torch.tensor(0.6, dtype=a.dtype)), X34)
    differential(lambda a: tl.floor_divide(a, 0.6), lambda a: torch.floor_divide(a, 0.6), X34, order=0)


def test_a_number_modulo_a_tensor_has_the_gradient_pytorchs_remainder_of_two_tensors_has():
    """``7 % x``: PyTorch's remainder of a number by a tensor has no backward; its remainder of two
    tensors does, and the divisor's gradient must be the same."""
    b = A([0.7, -1.5, 2.0, -3.0, 0.25])
    differential(lambda b: 7.0 % b, lambda b: torch.remainder(torch.full_like(b, 7.0), b), b)
    differential(lambda b: 7.0 % b, lambda b: 7.0 % b, b, order=0)


@pytest.mark.parametrize(
    "program",
    [
        lambda L, a, b: a // b,
        lambda L, a, b: a % b,
        lambda L, a, b: a / b,
        lambda L, a, b: L.fmod(a, b),
        lambda L, a, b: L.div(a, b, rounding_mode="trunc"),
        lambda L, a, b: L.div(a, b, rounding_mode="floor"),
        lambda L, a, b: a // 2.5,
        lambda L, a, b: a % 2.5,
        lambda L, a, b: 7 // b,
        lambda L, a, b: -7 % b,
        lambda L, a, b: a.add(b, alpha=3),
        lambda L, a, b: a.floor(),
    ],
)
def test_integer_tensors_follow_pytorchs_dtypes(program):
    """int // int and int % int stay integers (rounded down, the sign of the divisor), int / int is a
    float, and a float operand makes the result the default float dtype, as in PyTorch."""
    a, b = A([7, -7, 6, -1, 0, 5]), A([2, 2, -4, 3, 5, -3])
    ours, theirs = program(tl, tl.tensor(a), tl.tensor(b)), program(torch, torch.tensor(a), torch.tensor(b))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_int_division_past_float_precision_stays_exact():
    a = tl.tensor([2**62 + 1, -(2**62) - 1])
    t = torch.tensor([2**62 + 1, -(2**62) - 1])
    for mode in ("floor", "trunc"):
        np.testing.assert_array_equal(
            tl.div(a, 3, rounding_mode=mode).data, torch.div(t, 3, rounding_mode=mode).numpy()
        )


@pytest.mark.parametrize(
    "program, kind, message",
    [
        (lambda L, a: a // L.tensor([1, 0]), ZeroDivisionError, r"floor_divide: integer division by zero .*\(2,\)"),
        (lambda L, a: a % 0, ZeroDivisionError, "remainder: integer division by zero"),
        (lambda L, a: L.fmod(a, L.tensor([0, 1])), ZeroDivisionError, "fmod: integer division by zero"),
        (lambda L, a: L.div(a, 0, rounding_mode="trunc"), ZeroDivisionError, "div: integer division by zero"),
        (lambda L, a: L.div(a, 2, rounding_mode="round"), ValueError, "div: rounding_mode must be None, 'floor' or"),
        (lambda L, a: L.add(a, a, alpha=0.5), TypeError, r"add: a float alpha \(0.5\) for integer operands"),
        (lambda L, a: a % L.tensor([1, 2, 3]), ValueError, r"remainder: operands with shapes \(2,\) and \(3,\)"),
    ],
)
def test_bad_arithmetic_is_refused_where_pytorch_refuses_naming_the_op(program, kind, message):
    with pytest.raises(Exception):  # noqa: B017 - PyTorch's own type differs (RuntimeError)
        program(torch, torch.tensor([5, 6]))
    x = tl.tensor([5, 6])
    with pytest.raises(kind, match=message):
        program(tl, x)
    np.testing.assert_array_equal(x.data, [5, 6])


# ---- shape ops, sorting, products ------------------------------------------------------------------------

X35 = np.arange(1.0, 16.0).reshape(3, 5) * A([1.0, -0.5, 2.0, 0.25, -1.5])
ZEROS = A([[2.0, 0.0, 3.0, 0.0, 1.5], [0.0, 1.0, -2.0, 4.0, 0.5], [1.0, 2.0, 0.0, 3.0, 0.0]])
SORTS = A([[3.0, -1.0, 2.5, 0.0, 7.0], [1.0, 4.0, -3.0, 2.0, 5.5], [0.5, -0.25, 9.0, -8.0, 1.25]])
TIES = A([[1.0, 3.0, 1.0, 2.0, 3.0, 1.0], [2.0, 2.0, 0.0, 2.0, -1.0, 0.0]])

SHAPES = {
    "x.diag() of a vector, offsets": case(lambda L, v: (v.diag(), v.diag(2), v.diag(-1), L.diag(v, 1)), V3),
    "x.diag() of a matrix, offsets": case(lambda L, m: (m.diag(), m.diag(1), m.diag(-2), m.diag(4), m.diag(-3)), X35),
    "x.diag() of an empty vector": case(lambda L, v: (v.diag(), v.diag(2)), np.zeros(0)),
    "tl.diagonal": case(lambda L, m: L.diagonal(m.reshape(3, 5, 1), 1, 0, 1), X35),
    "x.trace()": case(lambda L, m: (m.trace(), m.T.trace(), L.trace(m[:, :3])), X35),
    "x.tile": case(lambda L, m: (m.tile(2), m.tile((2, 1)), m.tile((2, 1, 3)), L.tile(m, (1, 2))), X35),
    "x.movedim, x.moveaxis": case(
        lambda L, t: (t.movedim(0, 2), t.movedim((0, 1), (2, 0)), t.moveaxis(-1, 0), L.movedim(t, 1, -1)),
        np.arange(24.0).reshape(2, 3, 4) - 11,
    ),
    "x.repeat_interleave": case(
        lambda L, m: (m.repeat_interleave(2), m.repeat_interleave(3, dim=0), m.repeat_interleave(2, dim=-1)), X35
    ),
    "repeat_interleave with counts": case(
        lambda L, m: (
            m.repeat_interleave(L.tensor([2, 0, 1]), dim=0),
            L.repeat_interleave(m, L.tensor([1, 2, 0, 1, 3]), dim=1),
        ),
        X35,
    ),
    "x.unfold": case(
        lambda L, m: (m.unfold(1, 2, 1), m.unfold(1, 3, 2), m.unfold(0, 3, 1), m.unfold(-1, 5, 5), m.unfold(1, 1, 3)),
        X35,
    ),
    "x.unfold of a 1-D signal": case(lambda L, v: v.unfold(0, 4, 3) * 2, np.arange(11.0) - 5),
    "x.cumprod with zeros": case(lambda L, m: (m.cumprod(1), m.cumprod(dim=0), L.cumprod(m, -1)), ZEROS),
    "x.cumprod of one zero": case(lambda L, v: v.cumprod(0), A([1.5, 0.0, -2.0, 3.0])),
    "x.sort()": case(lambda L, m: tuple(m.sort()) + tuple(m.sort(dim=0, descending=True)), SORTS),
    "x.sort() stable ties": case(
        lambda L, m: tuple(m.sort(stable=True)) + tuple(m.sort(dim=1, descending=True, stable=True)), TIES
    ),
    "tl.sort values and indices": case(lambda L, m: (L.sort(m, 0).values, L.sort(m, 0).indices), SORTS),
    "x.argsort, tl.argsort": case(lambda L, m: (m.argsort(), L.argsort(m, dim=0, descending=True)), SORTS),
    "x.msort": case(lambda L, m: L.msort(m) * 2, SORTS),
    "x.topk": case(
        lambda L, m: tuple(m.topk(2)) + tuple(m.topk(1, dim=0, largest=False)) + tuple(L.topk(m, 3, sorted=True)), SORTS
    ),
    "x.kthvalue": case(lambda L, m: tuple(m.kthvalue(2)) + tuple(L.kthvalue(m, 3, 0, True)), SORTS),
    "sort with NaN": case(lambda L, v: tuple(v.sort()) + tuple(v.sort(descending=True)), A([2.0, np.nan, -1.0, 5.0])),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_and_sorting_spellings_match_pytorch(name):
    check(*SHAPES[name])


M23, M34, B234, B245 = (RNG.standard_normal(s) for s in [(2, 3), (3, 4), (2, 3, 4), (2, 4, 5)])
PRODUCTS = {
    "x.lerp(y, number)": case(
        lambda L, a, b: (a.lerp(b, 0.3), a.lerp(b, 0.5), a.lerp(b, 1.0), L.lerp(a, b, -0.2)), X34, Y34
    ),
    "x.lerp(y, tensor)": case(lambda L, a, b, w: a.lerp(b, w), X34, Y34, A([0.0, 0.3, 0.5, 1.2])),
    "x.lerp(y, broadcast)": case(lambda L, a, b, w: L.lerp(a, b, w), X34, Y34[0], A([[0.2], [0.8], [-1.0]])),
    "tl.outer, x.ger": case(lambda L, a, b: (L.outer(a, b), a.ger(b)), V3, POS4),
    "tl.dot, x.mv": case(lambda L, a, m: (L.dot(a, a), m.mv(a), L.mv(m, a)), V3, M23),
    "tl.addmm": case(
        lambda L, c, a, b: (L.addmm(c, a, b), c.addmm(a, b, beta=0.5, alpha=-2)), RNG.standard_normal((2, 4)), M23, M34
    ),
    "tl.addmm broadcasting its input": case(
        lambda L, c, a, b: L.addmm(c, a, b, alpha=3), A([1.0, 2.0, 3.0, 4.0]), M23, M34
    ),
    "tl.addmm beta=0 ignores NaN": case(lambda L, c, a, b: L.addmm(c, a, b, beta=0), np.full((2, 4), np.nan), M23, M34),
    "tl.addmv": case(lambda L, c, m, v: L.addmv(c, m, v, beta=2), A([0.5, -1.0]), M23, V3),
    "tl.addbmm, tl.baddbmm": case(
        lambda L, c, a, b: (L.addbmm(c[0], a, b), L.baddbmm(c, a, b, alpha=0.5)),
        RNG.standard_normal((2, 3, 5)),
        B234,
        B245,
    ),
    "tl.addr": case(lambda L, c, a, b: L.addr(c, a, b, beta=-1), RNG.standard_normal((3, 4)), V3, POS4),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_products_and_lerp_match_pytorch(name):
    check(*PRODUCTS[name])


@pytest.mark.parametrize(
    "program",
    [
        lambda L, x: x.reshape(2, 3, 1).diag(),
        lambda L, x: x.reshape(2, 3, 1).trace(),
        lambda L, x: x.unfold(1, 4, 1),
        lambda L, x: x.unfold(1, 2, 0),
        lambda L, x: x.movedim((0, 1), (1, 1)),
        lambda L, x: x.movedim(0, 2),
        lambda L, x: x.repeat_interleave(L.tensor([1, 2]), dim=1),
        lambda L, x: x.topk(4),
        lambda L, x: x.kthvalue(0),
        lambda L, x: x.sort(dim=2),
        lambda L, x: L.outer(x, x),
        lambda L, x: x.addmm(x, x),
        lambda L, x: L.addmm(L.ones(3, 3, dtype=L.float64), x, x.T),
        lambda L, x: x.lerp(L.ones(4, dtype=L.float64), 0.5),
    ],
)
def test_bad_shapes_are_refused_where_pytorch_refuses_naming_the_op(program):
    """An error in PyTorch is one here, with the op's name and the shapes (or the axis), and changes nothing."""
    x = np.arange(6.0).reshape(2, 3)
    with pytest.raises(Exception):  # noqa: B017 - PyTorch's type differs (RuntimeError, IndexError)
        program(torch, torch.tensor(x))
    ours = tl.tensor(x.copy())
    with pytest.raises((ValueError, IndexError, np.exceptions.AxisError)) as error:
        program(tl, ours)
    named = str(error.value).split(":")[0]
    assert named in {"diag", "trace", "unfold", "movedim", "repeat_interleave", "topk", "kthvalue", "argsort",
                     "outer", "mm", "addmm", "add", "sub", "lerp"}, str(error.value)  # fmt: skip
    assert "shape" in str(error.value) or "axis" in str(error.value), str(error.value)
    np.testing.assert_array_equal(ours.data, x)


# ---- nn.functional, Python numbers, NumPy's functions ----------------------------------------------------


@pytest.mark.parametrize(
    "program",
    [
        lambda F, a, b: F.cosine_similarity(a, b),
        lambda F, a, b: F.cosine_similarity(a, b, dim=0, eps=1e-3),
        lambda F, a, b: F.cosine_similarity(a, b[1], dim=-1),
        lambda F, a, b: F.cosine_similarity(a[:, None, :], b[None, :, :], dim=-1),
    ],
)
def test_cosine_similarity_matches_pytorch_also_where_a_norm_is_below_eps(program):
    """Rows with a zero vector and a vector of norm 2e-9 (below eps=1e-8): PyTorch clamps the norm without
    recording the clamp, so the gradient there is the norm's, not zero. Second order without the zero
    vector: there PyTorch's second derivative of a norm is NaN and this engine's 0 (as for ``x.norm()``)."""
    a = A([[0.0, 0.0, 0.0], [1e-9, 2e-9, 0.0], [1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    b = A([[1.0, 2.0, 3.0], [3.0, -1.0, 2.0], [1e-10, 0.0, 1e-10], [2.0, 2.0, -1.0]])
    ours, theirs = (lambda a, b: program(F, a, b)), (lambda a, b: program(TF, a, b))
    differential(ours, theirs, a, b, tol=1e-7, order=1)
    a[0] = [0.5, -1.0, 0.0]
    differential(ours, theirs, a, b, tol=1e-7)


def test_cosine_similarity_of_shapes_that_do_not_broadcast_is_refused_by_name():
    with pytest.raises(RuntimeError):
        TF.cosine_similarity(torch.ones(3, 4), torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"cosine_similarity: shapes \(3, 4\) and \(2, 4\) do not broadcast"):
        F.cosine_similarity(tl.ones(3, 4), tl.ones(2, 4))


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (1, 1, 1)])
def test_one_element_tensors_of_any_shape_convert_to_python_numbers(shape):
    for value in (2.75, -2.75, 0.0):
        ours, theirs = tl.tensor(np.full(shape, value)), torch.tensor(np.full(shape, value))
        assert float(ours) == float(theirs) and int(ours) == int(theirs) and bool(ours) == bool(theirs)
        assert ours.item() == theirs.item()
        assert type(float(ours)) is float and type(int(ours)) is int


@pytest.mark.parametrize("shape", [(2,), (1, 2), (0,)])
def test_a_tensor_of_other_sizes_does_not_convert_and_the_error_names_its_shape(shape):
    t, x = torch.zeros(shape), tl.zeros(shape)
    for convert in (float, int, bool, lambda v: v.item()):
        with pytest.raises((ValueError, RuntimeError)):
            convert(t)
        with pytest.raises(
            (ValueError, RuntimeError), match=rf"{tuple(shape)}".replace("(", r"\(").replace(")", r"\)")
        ):
            convert(x)


def test_numpys_std_and_var_on_a_tensor_mean_what_they_mean_on_an_array():
    """``np.std(t)`` dispatches to ``t.std(axis=, dtype=, out=, ddof=0)``: NumPy's population std, as
    ``np.std`` of the array (``t.std()`` alone is PyTorch's, correction 1); the gradient is PyTorch's
    for the same correction."""
    a = X34
    t = tl.Tensor(a.copy(), requires_grad=True)
    for fn in (np.std, np.var):
        np.testing.assert_allclose(fn(t).data, fn(a), rtol=1e-14)
        np.testing.assert_allclose(fn(t, ddof=1).data, fn(a, ddof=1), rtol=1e-14)
        np.testing.assert_allclose(fn(t, axis=1, keepdims=True).data, fn(a, axis=1, keepdims=True), rtol=1e-14)
        np.testing.assert_allclose(fn(t, axis=0, correction=1).data, fn(a, axis=0, correction=1), rtol=1e-14)
        assert fn(t, dtype=np.float32).dtype == np.float32 and np.mean(t, dtype=np.float32).dtype == np.float32
        with pytest.raises(TypeError, match="out= is not supported"):
            fn(t, out=np.zeros(()))
    with pytest.raises(TypeError, match=r"var: give one of correction= \(or unbiased=\) and ddof="):
        t.var(ddof=2, correction=1)
    assert np.std(t).item() != t.std().item()  # NumPy's ddof 0 and PyTorch's correction 1 both hold
    differential(lambda x: np.std(x, axis=1), lambda x: x.std(dim=1, correction=0), a)
    differential(lambda x: np.var(x, ddof=1), lambda x: x.var(), a)
