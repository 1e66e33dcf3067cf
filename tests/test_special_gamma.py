"""lgamma, digamma, polygamma(n, x), mvlgamma and erfinv (``primitives/gamma.py``): values over wide ranges
and at the special points against PyTorch (and against mpmath or SciPy where installed, a reference
independent of both), float32, and the gradients to second order (gradcheck, and PyTorch's
``create_graph``), with every spelling PyTorch has for them."""

import math

import numpy as np
import pytest

import tinygrad_lstm as tl

from .helpers import close

torch = pytest.importorskip("torch")

rng = np.random.default_rng(7)
# wide ranges: moderate, tiny and huge positive, negative non-integers near and far from the poles
WIDE = np.concatenate(
    [
        rng.uniform(-30.0, 30.0, 200),
        np.exp(rng.uniform(-60.0, 60.0, 100)),
        -np.exp(rng.uniform(-20.0, 12.0, 60)) - 0.123,
        rng.uniform(0.9, 2.1, 60),  # lgamma's zeros at 1 and 2, digamma's near 1.4616
        np.array([0.5, 1.5, 2.5, -0.5, -2.5, 1e-8, 1e-300, 1e15 + 0.5, -1e15 - 0.5, 1.4616321449683622]),
    ]
)
ERFINV_WIDE = np.concatenate(
    [
        rng.uniform(-1.0, 1.0, 200),
        1.0 - np.exp(rng.uniform(-36.0, -1.0, 60)),  # up to 1 - 2^-52: the far tail, where erf(x) - y cancels
        -(1.0 - np.exp(rng.uniform(-36.0, -1.0, 20))),
        np.exp(rng.uniform(-300.0, -1.0, 30)),
        np.array([0.5, -0.5, 0.4999999999, 1 - 2**-53, -1 + 2**-53]),
    ]
)
POINTS = np.array([0.0, -0.0, -1.0, -2.0, -7.0, 1.0, 2.0, np.inf, -np.inf, np.nan, 1e-300, 5e-324, 1e300, -1e20])
ERFINV_POINTS = np.array([1.0, -1.0, 0.0, -0.0, 1.5, -1.5, np.inf, np.nan, 1e-300, 5e-324])


def _functions():
    """name -> (ours, PyTorch's) for the elementwise ones, polygamma at several orders."""
    table = {"lgamma": (tl.lgamma, torch.lgamma), "digamma": (tl.digamma, torch.digamma)}
    for n in (1, 2, 3, 6, 12):
        table[f"polygamma{n}"] = (lambda x, n=n: tl.polygamma(n, x), lambda x, n=n: torch.polygamma(n, x))
    table["erfinv"] = (tl.erfinv, torch.erfinv)
    return table


def _agree(ours, theirs, rtol, what, atol=0.0):
    """Equal to ``rtol`` where finite; the same inf (with sign) or NaN elsewhere; signed zeros equal."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    finite = np.isfinite(theirs)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs)), (what, ours[np.isnan(ours) != np.isnan(theirs)])
    inf = np.isinf(theirs)
    assert np.array_equal(ours[inf], theirs[inf]), (what, ours[inf], theirs[inf])
    err = np.abs(ours[finite] - theirs[finite])
    bad = err > rtol * np.abs(theirs[finite]) + atol
    assert not bad.any(), (what, ours[finite][bad], theirs[finite][bad], (err / np.abs(theirs[finite]))[bad])
    zero = theirs == 0
    assert np.array_equal(np.signbit(ours[zero]), np.signbit(theirs[zero])), what


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", list(_functions()))
def test_values_over_wide_ranges_match_pytorch_in_float64(name):
    ours, theirs = _functions()[name]
    xs = ERFINV_WIDE if name == "erfinv" else WIDE
    got = ours(tl.tensor(xs))
    assert got.dtype == np.float64
    # PyTorch's trigamma stops its asymptotic series early: good to ~5e-10 (see the mpmath test below);
    # digamma's zero at 1.4616 leaves ~1e-16 absolute, not relative, digits in both
    rtol = 1e-9 if name == "polygamma1" else 1e-12
    keep = _trusted(name, xs)
    _agree(got.data[keep], theirs(torch.tensor(xs[keep])).numpy(), rtol, name, atol=1e-15 if name == "digamma" else 0)


def _trusted(name, xs):
    """Where PyTorch's polygamma is exact enough to compare with (and ends): far below 0 its trigamma takes
    sin(pi x) of x unreduced (10.88 at -1e15 - 0.5, where pi^2 - 1e-15 is right: mpmath, below) and its
    Hurwitz zeta (n >= 2) takes |x| steps, which never ends at -1e15; at high orders that zeta keeps ~5
    digits below 0 (-42.17226 at -2.5 for n = 12; -42.17266 is right) and ~1e-12 past 1e20."""
    if not name.startswith("polygamma"):
        return np.ones(xs.shape, bool)
    if name in ("polygamma6", "polygamma12"):
        return (xs > 0) & (xs < 1e20)
    return xs > -1e6


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", list(_functions()))
def test_values_at_the_special_points_are_pytorchs(name):
    """Poles (0, -0, the negative integers), infinities, NaN, the smallest and largest numbers."""
    ours, theirs = _functions()[name]
    xs = ERFINV_POINTS if name == "erfinv" else POINTS
    got, want = ours(tl.tensor(xs)).data, theirs(torch.tensor(xs)).numpy()
    if name == "polygamma1":  # PyTorch's trigamma is finite at a negative integer (6.6e32 at -1): a pole, inf here
        pole = (xs < 0) & (xs == np.floor(xs)) & np.isfinite(xs)
        assert np.all(got[pole] == np.inf) and np.all(np.isfinite(want[pole]))  # 6.6e32 at -1, 63.6 at -7
        got, want = got[~pole], want[~pole]
    _agree(got, want, 1e-9 if name == "polygamma1" else 1e-12, name)  # (PyTorch's trigamma: see above)


def test_a_reference_independent_of_pytorch_where_pytorch_is_loose():
    """polygamma(1) (and the rest) against mpmath at 40 digits: good to 1e-12 where PyTorch's is to 5e-10."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    xs = np.concatenate([rng.uniform(-20.0, 20.0, 30), rng.uniform(0.5, 3.0, 10), np.exp(rng.uniform(-10, 10, 10)),
                         -np.exp(rng.uniform(5, 7, 3)) - 0.25, [-2.5]])  # fmt: skip
    xs = xs[xs != np.floor(xs)]
    for n in (0, 1, 2, 5, 12):
        want = np.array([float(mpmath.polygamma(n, mpmath.mpf(float(x)))) for x in xs])
        _agree(tl.polygamma(n, tl.tensor(xs)).data, want, 1e-12, f"polygamma {n}", atol=1e-15 if n == 0 else 0.0)
    want = np.array([float(mpmath.loggamma(mpmath.mpf(float(x))).real) for x in xs])
    _agree(tl.lgamma(tl.tensor(xs)).data, want, 1e-12, "lgamma")
    ys = ERFINV_WIDE[::3]
    want = np.array([float(mpmath.erfinv(mpmath.mpf(float(y)))) for y in ys])
    _agree(tl.erfinv(tl.tensor(ys)).data, want, 1e-15, "erfinv")


def test_scipy_agrees_where_installed():
    special = pytest.importorskip("scipy.special")
    xs = WIDE[WIDE > 0]
    _agree(tl.lgamma(tl.tensor(xs)).data, special.gammaln(xs), 1e-12, "gammaln")
    _agree(tl.digamma(tl.tensor(xs)).data, special.psi(xs), 1e-12, "psi", atol=1e-15)
    _agree(tl.polygamma(3, tl.tensor(xs)).data, special.polygamma(3, xs), 1e-12, "polygamma 3")
    _agree(tl.erfinv(tl.tensor(ERFINV_WIDE)).data, special.erfinv(ERFINV_WIDE), 1e-14, "erfinv")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", list(_functions()))
def test_float32_is_the_float64_value_rounded(name):
    """Computed in float64 and rounded once: within one float32 step of PyTorch's float64 value (PyTorch's
    own float32 kernels, computed in float32, are looser: ~5e-6 for digamma near its zero)."""
    ours, theirs = _functions()[name]
    xs = (ERFINV_WIDE if name == "erfinv" else WIDE).astype(np.float32)
    xs = xs[np.isfinite(xs) & ((xs > 0) | (xs != np.floor(xs)))]
    xs = xs[_trusted(name, xs)]
    got = ours(tl.tensor(xs))
    assert got.dtype == np.float32
    want = theirs(torch.tensor(xs, dtype=torch.float64)).numpy()
    rtol = 1e-9 if name == "polygamma1" else 0.0
    fine = np.isfinite(want) & (np.abs(want) < np.finfo(np.float32).max) & (np.abs(want) > 1e-37)
    step = np.spacing(np.abs(want[fine]).astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(got.data[fine] - want[fine]) <= step * (1 + rtol)), name
    pos = xs > 0  # (near a pole below 0 PyTorch's float32 trigamma takes sin(pi x) in float32: 1e-3 off)
    close(got[pos], theirs(torch.tensor(xs[pos])), 1e-4, 1e-6, f"{name} float32 against PyTorch's float32")


def test_integers_give_the_default_float_as_pytorch():
    assert tl.lgamma(tl.tensor([1, 2, 3])).dtype == np.float32
    assert tl.special.gammaln(tl.tensor([3])).tolist() == pytest.approx([math.log(2.0)])
    close(tl.digamma(tl.tensor([1, 2, 3])), torch.digamma(torch.tensor([1, 2, 3])), 1e-6, 1e-6)  # PyTorch's: in float32


GRAD_DOMAIN = {  # away from the poles (gradcheck's finite differences straddle nothing)
    "lgamma": np.array([[0.3, 1.7, 4.2], [-0.4, -2.6, 11.0]]),
    "erfinv": np.array([[0.3, -0.95, 0.0], [0.7, -0.2, 0.999]]),
}


def _grad_cases():
    x = np.array([[0.3, 1.7, 4.2], [-0.4, -2.6, 11.0]])
    return {
        "lgamma": (tl.lgamma, torch.lgamma, x),
        "digamma": (tl.digamma, torch.digamma, x),
        "polygamma1": (lambda a: tl.polygamma(1, a), lambda a: torch.polygamma(1, a), x),
        "polygamma3": (lambda a: a.polygamma(3), lambda a: a.polygamma(3), x),
        "erfinv": (tl.erfinv, torch.erfinv, GRAD_DOMAIN["erfinv"]),
        "mvlgamma": (lambda a: tl.mvlgamma(a.abs() + 2.0, 3), lambda a: torch.mvlgamma(a.abs() + 2.0, 3), x),
        "multigammaln": (
            lambda a: tl.special.multigammaln(a * a + 1.0, 2),
            lambda a: torch.special.multigammaln(a * a + 1.0, 2),
            x,
        ),
    }


@pytest.mark.parametrize("name", list(_grad_cases()))
def test_gradients_pass_gradcheck_and_gradgradcheck(name):
    ours, _, x = _grad_cases()[name]
    a = tl.tensor(x, requires_grad=True)
    assert tl.gradcheck(ours, (a,), eps=1e-6, atol=1e-6, rtol=1e-5)
    assert tl.gradgradcheck(ours, (a,), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", list(_grad_cases()))
def test_gradients_to_third_order_match_pytorchs_create_graph(name):
    """d lgamma = digamma, d digamma = polygamma(1), d polygamma(n) = polygamma(n + 1), d erfinv =
    sqrt(pi)/2 exp(erfinv^2): each order is the next primitive, so a third order is one too."""
    ours, theirs, x = _grad_cases()[name]
    a, t = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    w = rng.standard_normal(x.shape)
    y, ty = ours(a), theirs(t)
    g1 = tl.grad((y * w).sum(), a, create_graph=True)[0]
    t1 = torch.autograd.grad((ty * torch.tensor(w)).sum(), t, create_graph=True)[0]
    g2 = tl.grad((g1 * g1).sum(), a, create_graph=True)[0]
    t2 = torch.autograd.grad((t1 * t1).sum(), t, create_graph=True)[0]
    g3 = tl.grad(g2.sum(), a)[0]
    t3 = torch.autograd.grad(t2.sum(), t)[0]
    # PyTorch's trigamma is good to ~5e-10 (see above): the orders that reach it compare to 1e-8
    tol = 1e-12 if name == "erfinv" else 1e-8
    for k, (ours_k, theirs_k) in enumerate([(y, ty), (g1, t1), (g2, t2), (g3, t3)]):
        close(ours_k, theirs_k, tol, tol, f"{name} order {k}")


def test_the_derivatives_are_the_next_functions_by_finite_differences():
    """The VJP's formulas, checked against central differences of the values alone."""
    x = np.array([0.7, 2.3, -1.6, 9.0])
    h = 1e-5
    for f, df in [(tl.lgamma, tl.digamma), (tl.digamma, lambda a: tl.polygamma(1, a))]:
        fd = (f(tl.tensor(x + h)).data - f(tl.tensor(x - h)).data) / (2 * h)
        np.testing.assert_allclose(df(tl.tensor(x)).data, fd, rtol=1e-8)
    y = np.array([0.1, -0.6, 0.9])
    fd = (tl.erfinv(tl.tensor(y + h)).data - tl.erfinv(tl.tensor(y - h)).data) / (2 * h)
    np.testing.assert_allclose(math.sqrt(math.pi) / 2 * np.exp(tl.erfinv(tl.tensor(y)).data ** 2), fd, rtol=1e-8)


def test_mvlgamma_matches_pytorch_for_several_dimensions():
    x = np.array([[2.1, 3.7], [5.0, 40.0]])
    for p in (1, 2, 3, 5):
        close(tl.mvlgamma(tl.tensor(x), p), torch.mvlgamma(torch.tensor(x), p), 1e-13, 1e-13, f"p={p}")
        close(tl.tensor(x).mvlgamma(p), torch.tensor(x).mvlgamma(p), 1e-13, 1e-13)
    scalar = torch.mvlgamma(torch.tensor(3.5, dtype=torch.float64), 2)
    close(tl.mvlgamma(tl.tensor(3.5, dtype=np.float64), 2), scalar, 1e-13, 1e-13)


def test_every_spelling_pytorch_has():
    x = np.array([[0.3, 1.7, 4.2], [-0.4, -2.6, 11.0]])
    y = np.array([[0.3, -0.95, 0.0], [0.7, -0.2, 0.999]])
    a, t, b, u = tl.tensor(x), torch.tensor(x), tl.tensor(y), torch.tensor(y)
    pairs = [
        (tl.special.gammaln(a), torch.special.gammaln(t)),
        (tl.special.digamma(a), torch.special.digamma(t)),
        (tl.special.psi(a), torch.special.psi(t)),
        (tl.special.polygamma(2, a), torch.special.polygamma(2, t)),
        (tl.special.erfinv(b), torch.special.erfinv(u)),
        (tl.special.multigammaln(a.abs() + 2, 2), torch.special.multigammaln(t.abs() + 2, 2)),
        (a.lgamma(), t.lgamma()),
        (a.digamma(), t.digamma()),
        (a.polygamma(2), t.polygamma(2)),
        (b.erfinv(), u.erfinv()),
        ((a.abs() + 2).mvlgamma(p=2), (t.abs() + 2).mvlgamma(p=2)),
        (tl.polygamma(0, a), torch.polygamma(0, t)),
    ]
    for k, (ours, theirs) in enumerate(pairs):
        close(ours, theirs, 1e-12, 1e-12, f"spelling {k}")
    for name, args in [("lgamma", ()), ("digamma", ()), ("polygamma", (3,)), ("mvlgamma", (2,)), ("erfinv", ())]:
        data = y if name == "erfinv" else np.abs(x) + 2.0
        ours, theirs = tl.tensor(data), torch.tensor(data)
        assert getattr(ours, name + "_")(*args) is ours
        getattr(theirs, name + "_")(*args)
        close(ours, theirs, 1e-12, 1e-12, f"{name}_")
        out = tl.empty(2, 3, dtype=np.float64)
        fn = getattr(tl, name)
        result = fn(args[0], tl.tensor(data), out=out) if name == "polygamma" else fn(tl.tensor(data), *args, out=out)
        assert result is out
        close(out, theirs, 1e-12, 1e-12, f"{name}(out=)")


def test_in_place_twin_on_a_non_leaf_through_a_view_gives_pytorchs_gradient():
    x = np.array([[0.3, 1.7, 4.2], [2.4, 2.6, 11.0]])
    a, t = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    h, th = a * 1.0, t * 1.0
    h[1].lgamma_()
    th[1].lgamma_()
    h.polygamma_(1)
    th.polygamma_(1)
    close(tl.grad(h.sum(), a)[0], torch.autograd.grad(th.sum(), t)[0], 1e-8, 1e-8)


def test_bad_arguments_are_refused_by_name_and_change_nothing():
    x = tl.tensor([1.5, 2.5])
    with pytest.raises(ValueError, match=r"polygamma: n must be 0 or more .* got -1"):
        x.polygamma_(-1)
    with pytest.raises(TypeError, match=r"polygamma: n must be an int, got float 1.5"):
        tl.polygamma(1.5, x)
    with pytest.raises(TypeError, match=r"polygamma: n must be an int, got bool"):
        tl.special.polygamma(True, x)
    with pytest.raises(ValueError, match=r"mvlgamma: p must be 1 or more, got 0 \(input of shape \(2,\)\)"):
        x.mvlgamma_(0)
    with pytest.raises(TypeError, match="mvlgamma: p must be an int"):
        tl.mvlgamma(x, 2.0)
    with pytest.raises(TypeError, match="gammaln: input must be a Tensor or an ndarray"):
        tl.special.gammaln([1.0, 2.0])
    assert x.tolist() == [1.5, 2.5]


def test_zero_d_and_empty_inputs_keep_their_shape():
    """A 0-d input (found by the generated programs: erfinv assigned into a NumPy scalar) and an empty one."""
    for name, (ours, theirs) in _functions().items():
        tol = 1e-9 if name == "polygamma1" else 1e-12  # (PyTorch's trigamma: see above)
        for data in (np.array(0.3), np.zeros((2, 0))):
            close(ours(tl.tensor(data)), theirs(torch.tensor(data)), tol, tol, name)
