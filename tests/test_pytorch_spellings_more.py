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
    # both default float dtypes float32 (another test module sets PyTorch's to float64 when imported)
    before, t_before = tl.get_default_dtype(), torch.get_default_dtype()
    tl.set_default_dtype(np.float32), torch.set_default_dtype(torch.float32)
    try:
        ours, theirs = program(tl, tl.tensor(a), tl.tensor(b)), program(torch, torch.tensor(a), torch.tensor(b))
    finally:
        tl.set_default_dtype(before), torch.set_default_dtype(t_before)
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


# ---- found by probing PyTorch's method list (OpInfo names a student meets): each refused here before ----

UNIT = A([-0.9, -0.3, 0.0, 0.4, 0.8])
ABOVE1 = A([1.2, 1.5, 2.0, 3.5])
MORE = {
    "trigonometric and hyperbolic": case(
        lambda L, x: (x.tan(), x.sinh(), x.cosh(), x.asin(), x.acos(), x.asinh(), x.atanh(), L.arcsin(x), x.arctanh()),
        UNIT,
    ),
    "acosh": case(lambda L, x: (x.acosh(), L.arccosh(x)), ABOVE1),
    "log2, log10, exp2": case(lambda L, x: (x.log2(), x.log10(), x.exp2(), L.log2(x), L.exp2(-x)), ABOVE1),
    "erf, rsqrt, square, sign as functions": case(lambda L, x: (L.erf(x), L.rsqrt(x), L.square(x), L.sign(x)), ABOVE1),
    "atan2": case(lambda L, a, b: (L.atan2(a, b), a.atan2(b), a.arctan2(b[0])), X34, Y34),
    "atan2 on the axes": case(lambda L, a, b: L.atan2(a, b), A([0.0, 1.0, -1.0, 0.0]), A([1.0, 0.0, 0.0, -2.0])),
    "hypot": case(lambda L, a, b: (L.hypot(a, b), a.hypot(b[1])), X34, Y34),
    "rad2deg, deg2rad": case(lambda L, x: (x.rad2deg(), L.deg2rad(x)), X34),
    "logit": case(lambda L, x: (x.logit(), x.logit(eps=0.15), L.logit(x)), A([0.05, 0.2, 0.5, 0.9])),
    "float_power": case(lambda L, x: (x.float_power(2), x.float_power(0.5)), ABOVE1),
    "negative, positive, absolute, sgn": case(
        lambda L, x: (x.negative(), x.positive() * 2, x.absolute(), x.sgn()), X34
    ),
    "nan_to_num": case(
        lambda L, x: (x.nan_to_num(), x.nan_to_num(1.5, 2.0, -3.0), L.nan_to_num(x, nan=-1.0)),
        A([np.nan, np.inf, -np.inf, 0.5, -2.0]),
    ),
    "fmax, fmin with NaN and ties": case(
        lambda L, a, b: (a.fmax(b), L.fmin(a, b)),
        A([1.0, np.nan, 3.0, np.nan, 2.0]),
        A([1.0, 2.0, np.nan, np.nan, 5.0]),
    ),
    "maximum, minimum, where as methods": case(
        lambda L, a, b: (a.maximum(b), a.minimum(b), a.where(a > b, b)), X34, Y34
    ),
    "logaddexp, logaddexp2": case(
        lambda L, a, b: (a.logaddexp(b), L.logaddexp2(a, b), a.logaddexp(a)), X34 * 3, Y34 * 3
    ),
    "logaddexp far apart": case(lambda L, a, b: (a.logaddexp(b), a.logaddexp2(b)), X34 * 300, Y34 * 300, order=1),
    "addcmul, addcdiv": case(
        lambda L, x, a, b: (x.addcmul(a, b), L.addcmul(x, a, b, value=0.5), x.addcdiv(a, b, value=-2)), X34, Y34, POS4
    ),
    "dist": case(lambda L, a, b: (a.dist(b), L.dist(a, b, 1), a.dist(b, 3)), X34, Y34),
    "comparisons and logic as methods": case(
        lambda L, a, b: (a.eq(b), a.ne(a), a.lt(b), a.le(b), a.gt(0), a.ge(b), a.greater(b), L.less_equal(a, b),
                         a.logical_and(b > 0), L.logical_or(a > 0, b > 0), a.logical_xor(b), (a > 0).logical_not()),
        X34, Y34.round(),
    ),
    "isclose": case(
        lambda L, a, b: (a.isclose(b), L.isclose(a, b, rtol=0.1, atol=0.5), a.isclose(b, equal_nan=True)),
        A([1.0, np.inf, np.inf, np.nan, 2.0, 0.0]), A([1.0 + 1e-9, np.inf, -np.inf, np.nan, 2.3, 1e-9]),
    ),
    "amax, amin, aminmax, argmax as functions": case(
        lambda L, x: (L.amax(x, 1), L.amin(x, 0), *x.aminmax(), *L.aminmax(x, dim=1), L.argmax(x, dim=1)), SORTS
    ),
    "aminmax with ties shares the gradient": case(lambda L, x: tuple(x.aminmax(dim=0)), A([[1.0, 2.0], [1.0, 2.0]])),
    "count_nonzero": case(lambda L, x: (x.count_nonzero(), L.count_nonzero(x, dim=1)), ZEROS),
    "nansum, nanmean": case(
        lambda L, x: (x.nansum(), L.nansum(x, 1), x.nanmean(), L.nanmean(x, dim=0)),
        A([[1.0, np.nan, 3.0], [np.nan, 2.0, -2.0]]),
    ),
    "std, var, std_mean, var_mean as functions": case(
        lambda L, x: (L.std(x, dim=1), L.var(x, 0), *L.std_mean(x, dim=1), *L.var_mean(x, dim=0, keepdim=True)), X34
    ),
    "cummax, cummin": case(
        lambda L, x: (*x.cummax(1), *L.cummin(x, 0)), A([[1.0, 3.0, 3.0, 2.0, 5.0], [4.0, 1.0, 4.0, 0.0, 4.0]])
    ),
    "cummax with NaN": case(lambda L, x: tuple(x.cummax(0)), A([1.0, 3.0, np.nan, 7.0, 1.0])),
    "norm as a function": case(lambda L, x: (L.norm(x), L.norm(x, dim=1)), X34),
}  # fmt: skip


@pytest.mark.parametrize("name", list(MORE))
def test_more_elementwise_and_reduction_spellings_match_pytorch(name):
    check(*MORE[name])


X234 = RNG.standard_normal((2, 3, 4))
SQ = A([[2.0, 1.0, 0.5], [0.3, 3.0, -1.0], [1.0, -0.5, 2.5]])
IDX = A([[0, 2, 1, 0], [2, 2, 0, 1]])
RESHAPES = {
    "flatten, permute, swapaxes, t, narrow as functions": case(
        lambda L, x: (L.flatten(x, 1), L.permute(x, (2, 0, 1)), L.swapaxes(x, 0, 2), L.t(x[0]), L.narrow(x, 2, 1, 2)),
        X234,
    ),
    "chunk, roll, unflatten, select as functions": case(
        lambda L, x: (*L.chunk(x, 2, 2), L.roll(x, 1, 1), L.unflatten(x, 2, (2, 2)), L.select(x, 1, -1)), X234
    ),
    "swapdims, ravel": case(lambda L, x: (x.swapdims(0, 1), x.ravel(), L.swapdims(x, 2, 1)), X234),
    "fliplr, flipud": case(lambda L, x: (x.fliplr(), x.flipud(), L.fliplr(x), L.flipud(x[0])), X234),
    "rot90": case(lambda L, x: (x.rot90(), x.rot90(2), x.rot90(3, (1, 2)), x.rot90(-1), L.rot90(x, 4, [0, 2])), X234),
    "diff": case(
        lambda L, x, p: (x.diff(), x.diff(2, dim=1), L.diff(x, dim=0, prepend=p[None]), x.diff(append=x[..., :1])),
        X234, X234[0],
    ),
    "diag_embed": case(
        lambda L, x: (x.diag_embed(), x.diag_embed(1), x.diag_embed(-1, 0, 2), L.diag_embed(x[0], 2, 1, 0)), X234
    ),
    "tensor_split, hsplit, vsplit, dsplit": case(
        lambda L, x: (*x.tensor_split(3, dim=2), *L.tensor_split(x, [1, 3], 1), *x.hsplit(3), *x.vsplit([1]),
                      *L.dsplit(x, 2), *x[0, 0].hsplit(2)),
        X234,
    ),
    "kron": case(lambda L, a, b: (L.kron(a, b), a[0].kron(b), L.kron(a, b[0])), SQ[:2], X34[:2, :3]),
    "inner, vdot": case(lambda L, a, b: (L.inner(a, b), a[0].inner(b[1]), L.vdot(a[0], b[0])), X34, Y34),
    "cross": case(lambda L, a, b: (L.cross(a, b, dim=1), a.cross(b[:1], dim=-1)), SQ, X34[:, :3]),
    "matrix_power": case(
        lambda L, x: (x.matrix_power(0), x.matrix_power(1), x.matrix_power(3), L.matrix_power(x, -2)), SQ
    ),
    "inverse": case(lambda L, x: (x.inverse(), L.inverse(x) @ x), SQ),
    "sum_to_size": case(lambda L, x: (x.sum_to_size(3, 1), x.sum_to_size((1, 4)), x.sum_to_size(3, 4)), X34),
    "take, take_along_dim": case(
        lambda L, x: (x.take(L.tensor([[0, 5], [-1, 5]])), x.take_along_dim(L.tensor(IDX.T[:3, :1]), 0),
                      L.take_along_dim(x, L.tensor([[3], [0], [1]]), dim=1), x.take_along_dim(L.tensor([1, 1, 7]))),
        X34,
    ),
    "masked_select": case(
        lambda L, x: (x.masked_select(x > 0), L.masked_select(x, L.tensor([True, False, True, True]))), X34
    ),
    "index_select as a function": case(lambda L, x: L.index_select(x, 1, L.tensor([3, 0, 3])), X34),
    "scatter, scatter_add": case(
        lambda L, x, s: (x.scatter(0, L.tensor(IDX), s[:2]), x.scatter_add(0, L.tensor(IDX), s[:2]),
                         L.scatter(x, 1, L.tensor(IDX[:, :2]), s[:2, :2]), x.scatter(0, L.tensor(IDX), value=-1.5),
                         L.scatter_add(x, 1, L.tensor(IDX), s[:2])),
        X34, Y34,
    ),
    "index_add, index_copy, index_fill": case(
        lambda L, x, s: (x.index_add(0, L.tensor([2, 0, 2]), s), L.index_add(x, 0, L.tensor([1, 1, 0]), s, alpha=2),
                         x.index_copy(0, L.tensor([2, 0, 1]), s), x.index_fill(1, L.tensor([0, 3]), -2.0)),
        X34, Y34,
    ),
    "masked_fill as a function": case(lambda L, x: L.masked_fill(x, x > 1, 0.0), X34),
}  # fmt: skip


@pytest.mark.parametrize("name", list(RESHAPES))
def test_more_shape_and_indexing_spellings_match_pytorch(name):
    check(*RESHAPES[name])


def test_joining_and_grids_match_pytorch():
    a, b = A([1.0, 2.0, 3.0]), A([4.0, -5.0, 6.0])
    check(lambda L, a, b: (L.hstack([a, b]), L.vstack([a, b]), L.dstack([a, b]), L.column_stack([a, b]),
                           L.concat([a, b]), L.concatenate([a[None], b[None]], 1), L.row_stack([a, b]),
                           L.hstack([a[:, None], b[:, None]]), L.dstack([a[None], b[None]])), (a, b), {})  # fmt: skip
    check(lambda L, a, b: L.meshgrid(a, b[:2], indexing="ij"), (a, b), {})
    check(lambda L, a, b: L.meshgrid([a, b[:2], a[:1]], indexing="xy"), (a, b), {})


def test_not_differentiated_results_match_pytorch():
    """nonzero, argwhere, unique: integers and values (PyTorch differentiates none of them)."""
    x = A([[0.0, 2.0, 0.0], [1.5, 0.0, 2.0]])
    check(lambda L, x: (x.nonzero(), L.argwhere(x), *x.nonzero(as_tuple=True), L.nonzero(x)), (x,), {"order": 0})
    check(
        lambda L, x: (x.unique(), *L.unique(x, return_inverse=True, return_counts=True), x.unique(dim=1)),
        (x,),
        {"order": 0},
    )
    check(lambda L, x: (L.numel(x), L.is_tensor(x), L.is_tensor(3.0), x.is_floating_point()), (x,), {"order": 0})
    assert tl.tensor(x).allclose(tl.tensor(x + 1e-9)) and torch.tensor(x).allclose(torch.tensor(x + 1e-9))
    assert tl.equal(tl.tensor(x), tl.tensor(x)) and not tl.equal(tl.tensor(x), tl.tensor(x[:1]))


def test_what_a_tensor_is_as_pytorch_reports_it():
    for a in (np.zeros((2, 3)), np.zeros((2, 3), np.float32).T, np.arange(6).reshape(2, 3)[:, ::2]):
        ours, theirs = tl.from_numpy(a), torch.from_numpy(a)
        assert ours.stride() == theirs.stride() and ours.stride(1) == theirs.stride(1)
        assert ours.is_contiguous() == theirs.is_contiguous(), a.strides
        assert ours.element_size() == theirs.element_size() and ours.nelement() == theirs.nelement()
        assert ours.is_floating_point() == theirs.is_floating_point()
    x = tl.tensor(np.ones(2, np.float32))
    assert x.half().dtype == np.float16 and x.new_tensor([1.0, 2.0]).dtype == np.float32
    assert x.new_empty(2, 3).shape == (2, 3) and tl.full_like(x, 7).tolist() == [7.0, 7.0]
    assert tl.empty(2, 2).shape == (2, 2) and tl.empty_like(x).dtype == np.float32
    tl.manual_seed(0)
    r = tl.randint(3, 7, (50,))
    assert r.dtype == np.int64 and set(r.tolist()) <= set(range(3, 7)) and tl.randint(5, (2, 2)).shape == (2, 2)
    assert sorted(tl.randperm(6).tolist()) == list(range(6))
    np.testing.assert_allclose(tl.logspace(0, 2, 3).data, torch.logspace(0, 2, 3).numpy())


MED = A([[3.0, -1.0, 2.5, 0.0, 7.0, 1.0], [1.0, 4.0, -3.0, 2.0, 5.5, 2.0], [0.5, np.nan, 9.0, -8.0, np.nan, 1.25]])
OPINFO = {
    "erfc, sinc": case(lambda L, x: (x.erfc(), L.erfc(x * 4), x.sinc(), L.sinc(x)), A([-2.0, -0.5, 0.3, 1.0, 6.0])),
    "sinc at 0": case(lambda L, x: x.sinc(), A([0.0, 0.5]), order=1),
    "logcumsumexp": case(lambda L, x: (x.logcumsumexp(1), L.logcumsumexp(x * 30, 0)), X34),
    "logcumsumexp far apart": case(lambda L, x: L.logcumsumexp(x * 300, 0), X34, order=1),
    "median, nanmedian": case(
        lambda L, x: (x[:2].median(), *x.median(1), *L.median(x, 0, True), x[:2].nanmedian(), *x.nanmedian(dim=1)), MED
    ),
    "quantile": case(
        lambda L, x: (x[:2].quantile(0.4), x.quantile(L.tensor([0.0, 0.25, 1.0], dtype=L.float64), dim=1),
                      L.quantile(x, 0.5, 0, keepdim=True), x.nanquantile(0.3, dim=1),
                      *(x.quantile(0.35, 1, interpolation=m) for m in ("lower", "higher", "nearest", "midpoint"))),
        MED,
    ),
    "cov, corrcoef": case(lambda L, x: (x.cov(), L.cov(x, correction=0), x[0].cov(), x.corrcoef(), L.corrcoef(x)), X34),
    "diagflat, reshape_as": case(lambda L, x: (x.diagflat(), L.diagflat(x[0], -1), x.reshape_as(x.T)), X34[:2, :2]),
    "split_with_sizes, unsafe_split, unsafe_chunk, narrow_copy": case(
        lambda L, x: (*x.split_with_sizes([1, 3], 1), *x.unsafe_split(2, 1), *x.unsafe_chunk(2),
                      x.narrow_copy(1, 1, 2)),
        X34,
    ),
    "index_put, put": case(
        lambda L, x, v: (x.index_put((L.tensor([0, 2, 0]),), v[0]), x.index_put((L.tensor([0, 2, 0]),), v[0], True),
                         x.put(L.tensor([1, 5, 1]), v[1, :3]), x.put(L.tensor([1, 5, 1]), v[1, :3], accumulate=True)),
        X34, Y34,
    ),
    "select_scatter, slice_scatter, masked_scatter": case(
        lambda L, x, v: (x.select_scatter(v[0], 0, 1), x.slice_scatter(v[:, :2], 1, 1, 4, 2),
                         x.masked_scatter(x > 0, v)),
        X34, Y34,
    ),
    "mH, H, conj, resolve_conj": case(lambda L, x: (x.mH, x.H, x.conj(), x.resolve_conj(), x.resolve_neg()), X34),
    "atleast_nd, broadcast_tensors, block_diag, cartesian_prod": case(
        lambda L, a, b: (L.atleast_1d(a[0, 0]), L.atleast_2d(a[0]), *L.atleast_3d(a, b),
                         *L.broadcast_tensors(a, b[:, :1]),
                         L.block_diag(a, b[0], b[0, 0]), L.cartesian_prod(a[0, :2], b[0, :3])),
        X34, Y34,
    ),
    # (PyTorch's cdist has no second derivative; this engine's is checked against finite differences below)
    "cdist": case(
        lambda L, a, b: (L.cdist(a, b), L.cdist(a, b, p=1.0), L.cdist(a[None], b[None], 3.0)), X34, Y34[:2], order=1
    ),
    "tensordot": case(
        lambda L, a, b: (L.tensordot(a, b, 2), L.tensordot(a, b[:, :, 0], dims=([1, 2], [0, 1])),
                         L.tensordot(a, b, ([0], [2]))),
        RNG.standard_normal((2, 3, 4)), RNG.standard_normal((3, 4, 2)),
    ),
    "rsub, fill, trapezoid": case(
        lambda L, y, x: (L.rsub(y, x, alpha=2), L.fill(y, 0.5), L.trapezoid(y), L.trapezoid(y, dx=0.5, dim=0),
                         L.trapezoid(y, x[0]), L.trapz(y, x)),
        X34, np.cumsum(np.abs(Y34), axis=1),
    ),
    "function spellings of methods": case(
        lambda L, x: (L.clamp_min(x, 0.1), L.clamp_max(x, 0.2), L.clone(x), L.float_power(x, 2), L.ravel(x),
                      L.broadcast_to(x[0], (2, 4))),
        X34,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(OPINFO))
def test_opinfo_spellings_match_pytorch(name):
    check(*OPINFO[name])


def test_floor_division_and_remainder_in_place_follow_pytorchs_rules():
    x = tl.tensor([7, -7, 5])
    alias = x
    x //= 2
    assert alias is x and x.tolist() == [3, -4, 2]
    x %= 3
    assert x.tolist() == [0, 2, 2]
    with pytest.raises(ZeroDivisionError, match="floor_divide_: integer division by zero"):
        x //= 0
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="floor_divide_: a leaf tensor that requires grad"):
        w //= 2
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        t //= 2
    y = w * 3.0
    y %= 2.5  # recorded: the gradient of a remainder by a number is 1
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [3.0, 3.0])


def test_bernoulli_and_normal_draw_from_tls_generator():
    tl.manual_seed(1)
    p = tl.tensor(np.full(4000, 0.3))
    draws = p.bernoulli()
    assert draws.dtype == p.dtype and set(np.unique(draws.data)) <= {0.0, 1.0} and abs(draws.data.mean() - 0.3) < 0.03
    assert tl.bernoulli(p).shape == p.shape
    samples = tl.normal(2.0, 0.5, size=(4000,))
    assert samples.dtype == tl.get_default_dtype() and abs(float(samples.mean()) - 2.0) < 0.05
    assert tl.normal(tl.tensor(np.zeros(3)), 1.0).dtype == np.float64
    with pytest.raises(ValueError, match=r"bernoulli: probabilities must lie in \[0, 1\]"):
        tl.tensor([1.5]).bernoulli()


def test_second_derivatives_where_pytorch_has_none_agree_with_finite_differences():
    """sinc at 0 (-pi**2 / 3, where PyTorch's is NaN) and cdist (PyTorch's has no second derivative)."""
    x = tl.tensor(np.array([0.0, 0.25]), requires_grad=True)
    (d,) = tl.grad(x.sinc().sum(), x, create_graph=True)
    (dd,) = tl.grad(d.sum(), x)
    assert d.data[0] == 0.0 and np.isclose(dd.data[0], -(np.pi**2) / 3, rtol=1e-12)
    a = tl.Tensor(X34.copy(), requires_grad=True)
    b = tl.Tensor(Y34[:2].copy(), requires_grad=True)
    assert tl.gradcheck(lambda a, b: tl.grad(tl.cdist(a, b).sum(), (a, b), create_graph=True), (a, b))


# ---- found by running PyTorch's OpInfo sample inputs through this engine (values and gradients) ------------

SAMPLES = {
    "max(dim=0), min(dim=0) of a 0-d tensor": case(lambda L, x: (*x.max(dim=0), *x.min(dim=0, keepdim=True)), A(1.5)),
    "softmax, log_softmax, cumsum with dtype=": case(
        lambda L, x: (x.softmax(0, dtype=L.float64), L.log_softmax(x, dim=1, dtype=L.float64),
                      x.cumsum(1, dtype=L.float64), L.cumsum(x, dim=0, dtype=L.float64)),
        X34,
    ),
    "masked_fill broadcasts the input with the mask": case(lambda L, x: x.masked_fill(L.tensor(MASK33), -1.0), V3),
    "masked_scatter broadcasts the input with the mask": case(
        lambda L, x, s: x.masked_scatter(L.tensor(MASK33), s), V3, SQ
    ),
    "std(True), var(False), std_mean(x, True): PyTorch's older unbiased": case(
        lambda L, x: (x.std(True), x.var(False), *L.std_mean(x, True), *L.var_mean(x, False)), X34
    ),
    "narrow with a 0-d start": case(lambda L, x: x.narrow(1, L.tensor(1), 2), X34),
    "gather of a 0-d tensor": case(lambda L, x: (x.gather(0, L.tensor(0)), x.gather(0, L.tensor([0, 0]))), A(2.5)),
    "index_fill with a repeated index and a tensor value": case(
        lambda L, x, v: x.index_fill(-1, L.tensor([0, 2, 2, 3]), v), X34, A(0.7)
    ),
    "index_add, index_copy, scatter of a 0-d tensor": case(
        lambda L, x, s: (x.index_add(0, L.tensor([0]), s), x.index_copy(0, L.tensor([0]), s),
                         x.scatter(0, L.tensor(0), s), x.scatter_add(0, L.tensor(0), s)),
        A(1.5), A(-2.0),
    ),
    "cov with weights, one variable": case(
        lambda L, x, w: (x.cov(aweights=w), L.cov(x[:2], correction=0, fweights=L.tensor([1, 3, 2, 1]), aweights=w),
                         x[0].cov(), x[:1].corrcoef()),
        X34, POS4,
    ),
    "median, quantile of a 0-d tensor with keepdim": case(
        lambda L, x: (*x.median(0, True), x.quantile(0.5, 0, True), *x.nanmedian(0, keepdim=True)), A(0.5)
    ),
    "transpose(0, 0) of a 0-d tensor": case(lambda L, x: x.transpose(0, 0) * 2, A(0.5)),
    "cdist's compute_mode": case(lambda L, a, b: L.cdist(a, b, 2.0, "use_mm_for_euclid_dist"), X34, Y34, order=1),
}  # fmt: skip
MASK33 = np.array([[True, False, True], [False, False, True], [True, True, False]])


@pytest.mark.parametrize("name", list(SAMPLES))
def test_opinfo_samples_that_failed_here_match_pytorch(name):
    check(*SAMPLES[name])


@pytest.mark.parametrize(
    "program",
    [
        lambda L, x: L.inverse(x * 0),
        lambda L, x: L.cross(x[:, :2], x[:, :2], dim=1),
        lambda L, x: x.rot90(1, (1, 1)),
        lambda L, x: x.quantile(1.5),
        lambda L, x: x.quantile(0.5, interpolation="cubic"),
        lambda L, x: L.tensordot(x, x[:2], ([0], [0])),
        lambda L, x: x.hsplit(2),
        lambda L, x: x.kthvalue(4),
        lambda L, x: x.diag_embed(0, 1, 1),
        lambda L, x: x.take(L.tensor([9])),
        lambda L, x: x.index_add(0, L.tensor([0]), x),
        lambda L, x: x.scatter(0, L.tensor([[5]]), x),
        lambda L, x: x.masked_select(L.tensor([True, False])),
        lambda L, x: x.cov(aweights=L.tensor([1.0, -1.0, 1.0])),
        lambda L, x: L.cdist(x, x[:, :2]),
        lambda L, x: x.median(dim=2),
    ],
)
def test_bad_input_to_the_probed_spellings_is_refused_by_name_and_changes_nothing(program):
    x = np.arange(9.0).reshape(3, 3)
    with pytest.raises(Exception):  # noqa: B017 - PyTorch's type differs (RuntimeError, IndexError)
        program(torch, torch.tensor(x))
    ours = tl.tensor(x.copy())
    with pytest.raises((ValueError, IndexError, np.exceptions.AxisError)) as error:
        program(tl, ours)
    named = str(error.value).split(":")[0]
    ops = "inverse cross rot90 quantile tensordot hsplit kthvalue diag_embed take index_add scatter masked_select cov"
    assert named in {*ops.split(), "cdist", "median"}, error.value
    np.testing.assert_array_equal(ours.data, x)


@pytest.mark.parametrize(
    "name, args",
    [("relu_", ()), ("elu_", (0.7,)), ("leaky_relu_", (0.2,)), ("hardtanh_", (-0.5, 0.5)), ("selu_", ()),
     ("celu_", (1.3,)), ("threshold_", (0.1, -2.0)), ("rrelu_", (0.1, 0.3, False))],
)  # fmt: skip
def test_in_place_functional_activations_as_pytorchs(name, args):
    """``F.relu_(x)`` and its kin write into x and return it: an AttributeError before. Values and the
    gradient through the in-place write (x a non-leaf) against PyTorch."""
    found = []
    for lib in (tl, torch):
        leaf = lib.tensor(np.array([-1.5, -0.2, 0.0, 0.3, 2.0]), requires_grad=True)
        x = leaf * 1.0
        out = getattr(lib.nn.functional, name)(x, *args)
        assert out is x
        (out * out).sum().backward()
        found.append((out.detach().numpy().copy() if lib is torch else out.numpy(), leaf.grad.numpy()))
    # PyTorch's float64 CELU gradient uses 1/alpha as a float32 constant (tests/test_functional_more.py)
    for ours, theirs in zip(*found):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7 if name == "celu_" else 1e-12)


def test_total_norm_and_clipping_with_a_given_norm_as_pytorchs():
    """``nn.utils.get_total_norm`` and ``clip_grads_with_norm_`` (PyTorch 2.6's split of
    clip_grad_norm_)."""
    found = []
    for lib in (tl, torch):
        ws = [
            lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True),
            lib.tensor(np.array([3.0, -4.0]), requires_grad=True),
        ]
        ((ws[0] ** 2).sum() + (ws[1] ** 3).sum()).backward()
        grads = [w.grad for w in ws]
        total = lib.nn.utils.get_total_norm(grads, norm_type=3.0)
        lib.nn.utils.clip_grads_with_norm_(ws, 5.0, total)
        found.append([float(total)] + [w.grad.numpy().copy() for w in ws])
    np.testing.assert_allclose(found[0][0], found[1][0], rtol=1e-12)
    for ours, theirs in zip(found[0][1:], found[1][1:]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize(
    "name, args, kwargs",
    [("softmax", (1,), {}), ("log_softmax", (0,), {}), ("logsumexp", ((0, 1),), {}),
     ("logsumexp", (1,), {"keepdim": True}), ("round", (), {"decimals": 1})],
)  # fmt: skip
def test_special_spellings_of_softmax_logsumexp_and_round_as_pytorchs(name, args, kwargs):
    """torch.special's softmax, log_softmax, logsumexp and round: AttributeErrors before. Values and
    gradients (of a weighted sum) against PyTorch."""
    x = np.array([[1.0, -2.0, 3.0], [0.5, 0.1, -1.0]])
    found = []
    for lib in (tl, torch):
        leaf = lib.tensor(x.copy(), requires_grad=True)
        out = getattr(lib.special, name)(leaf, *args, **kwargs)
        weights = lib.tensor(np.arange(1.0, 1.0 + out.numel() if lib is torch else 1.0 + out.size).reshape(out.shape))
        (out * weights).sum().backward()
        found.append((out.detach().numpy().copy(), leaf.grad.numpy().copy()))
    for ours, theirs in zip(*found):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
