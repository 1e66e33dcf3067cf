"""``tl.linalg`` against ``torch.linalg`` in float64 to 1e-9: value, gradient and second-order
gradient (``differential``: create_graph on both sides), batched, with 0-size batches, at singular
matrices where PyTorch computes, and the errors. Where the number differs from PyTorch's on purpose
(det's gradient at an exactly singular matrix without create_graph; its second order at rank n - 2),
the engine's is checked against central differences instead."""

import numpy as np
import pytest

import tinygrad_lstm as tl

from .test_pytorch_suite_probes import differential

torch = pytest.importorskip("torch")
TL = torch.linalg

RNG = np.random.default_rng(5)
M3 = RNG.standard_normal((3, 3))
BATCH = RNG.standard_normal((2, 3, 3))
EMPTY = np.zeros((0, 3, 3))
# exactly singular where LU meets them in floating point: rank n - 1, and rank n - 2
RANK2 = np.array([[2.0, 4.0, 6.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
RANK1 = np.outer([1.0, -2.0, 0.5], [3.0, 1.0, -1.0])
NEGATIVE = np.array([[0.0, 2.0], [1.5, 0.5]])  # det -3


def _pair(name, **kwargs):
    """tl.linalg.name and torch.linalg.name (torch.logdet: torch.linalg has none) with the same keywords."""
    theirs = getattr(TL, name, None) or getattr(torch, name)
    return (lambda *xs: getattr(tl.linalg, name)(*xs, **kwargs)), (lambda *xs: theirs(*xs, **kwargs))


# ---- determinants ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["det", "slogdet", "logdet", "inv"])
@pytest.mark.parametrize(
    "a",
    [M3, BATCH, EMPTY, np.zeros((0, 0)), np.array([[2.5]]), NEGATIVE],
    ids=["3x3", "batch", "0-batch", "0x0", "1x1", "neg"],
)
def test_determinants_and_inverse_match_pytorch_to_second_order(name, a):
    """(logdet of a negative determinant: NaN, its gradient 0, as PyTorch's)"""
    differential(*_pair(name), a)


def test_det_at_singular_matrices_matches_pytorchs_create_graph_gradient():
    """PyTorch's first gradient under create_graph is the cofactor matrix; so is ours (with or without)."""
    differential(*_pair("det"), RANK2)
    differential(*_pair("det"), np.array([[1.0, 2.0], [2.0, 4.0]]))
    differential(*_pair("det"), np.stack([RANK2, M3]))  # one singular matrix in a batch
    differential(*_pair("det"), RANK1, order=1)


def _cofactor(a: np.ndarray) -> np.ndarray:
    """The cofactor matrix by its definition: signed minors."""
    n = a.shape[0]
    out = np.zeros_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, 0), j, 1)
            out[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return out


def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix_without_create_graph_too():
    """PyTorch's plain backward gives 0 where LU meets an exact zero pivot; the derivative of det is the
    cofactor matrix there as everywhere (det is a polynomial)."""
    for a in (RANK2, np.array([[1.0, 2.0], [2.0, 4.0]])):
        x = tl.Tensor(a.copy(), requires_grad=True)
        tl.linalg.det(x).backward()
        np.testing.assert_allclose(x.grad.data, _cofactor(a), rtol=1e-12, atol=1e-12)
        t = torch.tensor(a, requires_grad=True)
        TL.det(t).backward()
        assert not t.grad.any()  # what PyTorch gives here


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_det_of_a_matrix_with_a_nan_has_nan_gradients_as_pytorchs():
    a = np.stack([M3, M3])
    a[1, 0, 2] = np.nan
    differential(*_pair("det"), a)


def test_det_second_order_at_rank_n_minus_2_against_differences_of_pytorchs_gradient():
    """PyTorch's second order is NaN here (an SVD backward with two zero singular values); the Hessian of
    a cubic, by central differences of PyTorch's cofactor gradient, which are exact for it."""
    v = RNG.standard_normal((3, 3))
    x = tl.Tensor(RANK1.copy(), requires_grad=True)
    (g,) = tl.grad(tl.linalg.det(x), x, create_graph=True)
    (h,) = tl.grad((g * v).sum(), x)

    def torch_grad(a):
        t = torch.tensor(a, requires_grad=True)
        return torch.autograd.grad(TL.det(t), t, create_graph=True)[0].detach().numpy()

    eps = 1e-3
    expected = (torch_grad(RANK1 + eps * v) - torch_grad(RANK1 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(g.data, _cofactor(RANK1), atol=1e-12)
    np.testing.assert_allclose(h.data, expected, rtol=1e-9, atol=1e-9)
    assert np.abs(h.data).max() > 0.1  # not the zero a rank argument might suggest


def test_det_third_order_matches_pytorch_and_is_refused_at_a_singular_matrix():
    def third(lib, a):
        if lib == "tl":
            x = tl.Tensor(a.copy(), requires_grad=True)
            (g,) = tl.grad(tl.linalg.det(x).sum(), x, create_graph=True)
            (h,) = tl.grad((g * g).sum(), x, create_graph=True)
            return tl.grad((h * h).sum(), x)[0].data
        t = torch.tensor(a, requires_grad=True)
        (g,) = torch.autograd.grad(TL.det(t).sum(), t, create_graph=True)
        (h,) = torch.autograd.grad((g * g).sum(), t, create_graph=True)
        return torch.autograd.grad((h * h).sum(), t)[0].numpy()

    np.testing.assert_allclose(third("tl", BATCH), third("torch", BATCH), rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match=r"det: a third derivative at a singular matrix"):
        third("tl", RANK2)


def test_slogdet_at_a_singular_matrix_gives_pytorchs_values_and_refuses_the_infinite_gradient():
    x = tl.Tensor(RANK2.copy(), requires_grad=True)
    sign, logabsdet = tl.linalg.slogdet(x)
    expected = TL.slogdet(torch.tensor(RANK2))
    assert sign.item() == expected.sign.item() == 0 and logabsdet.item() == expected.logabsdet.item() == -np.inf
    assert tl.logdet(x).item() == -np.inf
    with pytest.raises(ValueError, match=r"slogdet: the gradient of logabsdet at a singular matrix \(shape \(3, 3\)\)"):
        logabsdet.backward()


def test_the_spellings_of_det():
    x = tl.Tensor(BATCH.copy())
    expected = TL.det(torch.tensor(BATCH)).numpy()
    for got in (tl.det(x), x.det(), tl.linalg.det(x)):
        np.testing.assert_allclose(got.data, expected, rtol=1e-12)
    sign, logabsdet = x.slogdet()
    np.testing.assert_allclose((sign * logabsdet.exp()).data, expected, rtol=1e-12)
    assert tl.slogdet(x).logabsdet is not None and x.logdet().shape == (2,)
    assert tl.linalg.det(tl.Tensor(M3.astype(np.float32))).dtype == np.float32  # keeps float32


# ---- solve ---------------------------------------------------------------------------------------------------
SOLVES = {
    "vector": ((3, 3), (3,), True),
    "batch of vectors": ((2, 3, 3), (2, 3), True),
    "one vector for a batch": ((2, 3, 3), (3,), True),
    "matrix": ((3, 3), (3, 2), True),
    "broadcast batches": ((4, 1, 3, 3), (2, 3, 5), True),
    "right": ((3, 3), (2, 3), False),
    "right, batched": ((2, 3, 3), (1, 4, 3), False),
    "0-size batch": ((0, 3, 3), (0, 3), True),
    "no columns": ((3, 3), (3, 0), True),
    # refused by both, with a message naming the shapes
    "mismatch": ((1, 3, 3), (2, 3), True),
    "right vector": ((3, 3), (3,), False),
}


@pytest.mark.parametrize("name", sorted(SOLVES))
def test_solve_matches_pytorch_to_second_order(name):
    sa, sb, left = SOLVES[name]
    a = RNG.standard_normal(sa) + 3 * np.eye(sa[-1])
    refused = name in ("mismatch", "right vector")  # (below the comment in SOLVES)
    differential(*_pair("solve", left=left), a, RNG.standard_normal(sb), refuses=refused)


def test_solve_refuses_a_singular_matrix_and_bad_shapes_by_name():
    with pytest.raises(ValueError, match=r"linalg\.solve: a matrix of the input \(shape \(3, 3\)\) is singular"):
        tl.linalg.solve(RANK1, np.ones(3))
    with pytest.raises(ValueError, match=r"linalg\.solve: shapes \(1, 3, 3\) and \(2, 3\) do not fit AX = B"):
        tl.linalg.solve(np.ones((1, 3, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"linalg\.solve: expects square matrices .* got shape \(3, 4\)"):
        tl.linalg.solve(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match=r"linalg\.inv: a matrix of the input \(shape \(3, 3\)\) is singular"):
        tl.linalg.inv(RANK2)


@pytest.mark.parametrize("name", ["det", "slogdet", "logdet", "inv", "matrix_power"])
def test_non_square_matrices_are_refused_by_name_and_shape(name):
    x = tl.Tensor(np.ones((2, 3, 4)), requires_grad=True)
    args = (2,) if name == "matrix_power" else ()
    with pytest.raises(ValueError, match=rf"{name}: expects square matrices.*\(2, 3, 4\)"):
        getattr(tl.linalg, name)(x, *args)
    with pytest.raises(ValueError, match=rf"{name}: expects square matrices.*\(3,\)"):
        getattr(tl.linalg, name)(np.ones(3), *args)
    assert x.grad is None and np.all(x.data == 1.0)


# ---- norms ---------------------------------------------------------------------------------------------------
X = RNG.standard_normal((2, 3, 4))
TIES = np.array([[1.0, -3.0, 3.0, 0.5], [-2.0, 2.0, 0.0, 1.0]])  # equal magnitudes for inf, -inf (and 0)


@pytest.mark.parametrize("ord", [2, 1, 0, np.inf, -np.inf, 3.5, 0.5, -1.5])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_vector_norm_matches_pytorch_to_second_order(ord, dim, keepdim):
    differential(*_pair("vector_norm", ord=ord, dim=dim, keepdim=keepdim), X)


def test_vector_norm_at_ties_zero_size_0_d_and_with_dtype():
    for ord in (np.inf, -np.inf, 2, 1):
        differential(*_pair("vector_norm", ord=ord, dim=1), np.abs(TIES) + 0.5)
        differential(*_pair("vector_norm", ord=ord, dim=1), TIES * np.array([1.0, 1.0, 1.0, 0.25]))
    differential(*_pair("vector_norm", ord=2), np.zeros((0, 3)))
    differential(*_pair("vector_norm", ord=3), np.array(-1.5))
    differential(*_pair("vector_norm", ord=3, dim=()), X)  # no axes named: every axis, as PyTorch reads it
    x = tl.Tensor(X.astype(np.float32))
    got = tl.linalg.vector_norm(x, 3, dtype=np.float64)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.data, TL.vector_norm(torch.tensor(X.astype(np.float32)), 3, dtype=torch.float64))


@pytest.mark.parametrize("ord", ["fro", 1, -1, np.inf, -np.inf, "nuc", 2, -2])
@pytest.mark.parametrize("dim,keepdim", [((-2, -1), False), ((2, 0), True), ((0, 1), False)])
def test_matrix_norm_matches_pytorch_to_second_order(ord, dim, keepdim):
    differential(*_pair("matrix_norm", ord=ord, dim=dim, keepdim=keepdim), X)


def test_matrix_norm_of_empty_matrices_and_at_ties():
    for ord in ("fro", 1, -1, np.inf, -np.inf, "nuc", 2, -2):
        # a minimum over no entries, which PyTorch refuses: -1 of no rows' sums, -inf of no columns', -2 of no
        # singular values
        refusals = {-1: (False, True, False), -np.inf: (True, False, True), -2: (True, True, True)}
        refused = refusals.get(ord, (False, False, False))
        differential(*_pair("matrix_norm", ord=ord), np.zeros((0, 3)), refuses=refused[0])
        differential(*_pair("matrix_norm", ord=ord), np.zeros((3, 0)), refuses=refused[1])
        differential(*_pair("matrix_norm", ord=ord), np.zeros((2, 0, 3)), refuses=refused[2])
    for ord in ("fro", 1, -1, np.inf, -np.inf):  # (equal singular values too: see the nuclear norm's test)
        differential(*_pair("matrix_norm", ord=ord), np.array([[1.0, -2.0], [2.0, 1.0]]))


@pytest.mark.parametrize(
    "shape,ord,dim",
    [
        ((2, 3, 4), None, None),
        ((4,), 3, None),
        ((4,), np.inf, None),
        ((3, 4), 1, None),
        ((3, 4), "fro", None),
        ((3, 4), np.inf, None),
        ((3, 4), "nuc", None),
        ((4, 3), -2, None),
        ((2, 3, 4), None, 1),
        ((2, 3, 4), 0.5, (2,)),
        ((2, 3, 4), -np.inf, (0, 2)),
        ((2, 3, 4), None, (1, 2)),
        # refused by both
        ((2, 3, 4), 2, None),
        ((4,), "fro", None),
        ((3, 4), "fro", 1),
        ((2, 3, 4), None, (0, 1, 2)),
    ],
)
def test_norm_dispatches_as_pytorch(shape, ord, dim):
    refused = (shape, ord, dim) in (((2, 3, 4), 2, None), ((4,), "fro", None), ((3, 4), "fro", 1),
                                    ((2, 3, 4), None, (0, 1, 2)))  # fmt: skip
    differential(*_pair("norm", ord=ord, dim=dim), RNG.standard_normal(shape), refuses=refused)


def test_norm_errors_name_the_function_the_order_and_the_shape():
    with pytest.raises(ValueError, match=r"linalg\.matrix_norm: ord must be 'fro', 'nuc'.*got 3"):
        tl.linalg.matrix_norm(np.ones((3, 4)), 3)
    with pytest.raises(ValueError, match=r"linalg\.matrix_norm: expects a tensor of at least 2 axes, got shape \(4,\)"):
        tl.linalg.matrix_norm(np.ones(4))
    with pytest.raises(TypeError, match=r"linalg\.vector_norm: ord must be a number.*'fro'"):
        tl.linalg.vector_norm(np.ones(4), "fro")
    with pytest.raises(ValueError, match=r"linalg\.vector_norm: expects a floating point tensor, got int64"):
        tl.linalg.vector_norm(np.arange(4))
    with pytest.raises(ValueError, match=r"linalg\.vector_norm: the inf norm of an empty vector \(shape \(0,\)\)"):
        tl.linalg.vector_norm(np.zeros(0), np.inf)
    with pytest.raises(ValueError, match=r"linalg\.norm: with ord=2 and no dim, .* 1-D or 2-D, got shape \(2, 3, 4\)"):
        tl.linalg.norm(X, 2)


# ---- singular values -------------------------------------------------------------------------------------


def _svd_features(lib):
    """What of an SVD does not depend on the singular vectors' signs: S, U and Vh each times their first
    row (column), and U Vh."""

    def f(a):
        u, s, vh = tl.linalg.svd(a, full_matrices=False) if lib is tl else TL.svd(a, full_matrices=False)
        return s, (u * u[..., :1, :]).sum(-2), (vh * vh[..., :, :1]).sum(-1), u @ vh

    return f


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 5), (2, 4, 3), (0, 3, 2), (1, 4)])
def test_svd_matches_pytorch_to_second_order(shape):
    a = RNG.standard_normal(shape)
    differential(_svd_features(tl), _svd_features(TL), a)
    differential(*_pair("svdvals"), a)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5)])
def test_svd_third_order_matches_pytorch(shape):
    """The SVD's VJPs are built of its three parts, so they differentiate again, and again."""

    def third(lib, a):
        linalg, grad = (tl.linalg, tl.grad) if lib is tl else (TL, torch.autograd.grad)
        x = lib.tensor(a.copy(), requires_grad=True)
        u, s, vh = linalg.svd(x, full_matrices=False)
        (g,) = grad((s**3).sum() + ((u**2) * s[..., None, :]).sum() + (vh**4).sum(), x, create_graph=True)
        (h,) = grad((g * g).sum(), x, create_graph=True)
        return np.asarray(grad((h * h).sum(), x)[0].detach().numpy())

    a = RNG.standard_normal(shape)
    np.testing.assert_allclose(third(tl, a), third(torch, a), rtol=1e-9)


def test_svd_names_its_parts_and_refuses_full_matrices_of_a_non_square_matrix():
    a = RNG.standard_normal((2, 3, 3))
    u, s, vh = tl.linalg.svd(a)
    assert tl.linalg.svd(a).S is not None
    np.testing.assert_allclose(((u * s[..., None, :]) @ vh).data, a, atol=1e-12)
    np.testing.assert_allclose(s.data, TL.svdvals(torch.tensor(a)).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"linalg\.svd: full_matrices=True of non-square matrices \(shape \(3, 4\)\)"):
        tl.linalg.svd(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"linalg\.svdvals: expects matrices \(\.\.\., m, n\), got shape \(4,\)"):
        tl.linalg.svdvals(np.ones(4))


def test_nuclear_norm_at_equal_singular_values_is_exact_to_first_order():
    """The gradient of the sum of singular values is U Vh, whichever basis the SVD picks for equal ones."""
    q = np.linalg.qr(RNG.standard_normal((3, 3)))[0]
    a = q @ np.diag([2.0, 2.0, 0.5])
    differential(*_pair("matrix_norm", ord="nuc"), a, order=1)


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])
def test_cond_matches_pytorch_to_second_order(p):
    not_square = RNG.standard_normal((4, 3))  # refused by both but for p 2, -2, None
    differential(*_pair("cond", p=p), not_square, refuses=p not in (None, 2, -2))
    if p in (None, 2, -2):
        differential(*_pair("cond", p=p), BATCH)
        return
    # PyTorch 2.13 computes these but its backward fails (it changes inv_ex's result in place): the
    # gradients are compared with PyTorch's of the formula, the value with its cond
    differential(*_pair("cond", p=p), BATCH, order=0)
    formula = lambda a: TL.matrix_norm(a, p) * TL.matrix_norm(TL.inv(a), p)  # noqa: E731
    differential(lambda a: tl.linalg.cond(a, p), formula, BATCH)
    if p != "nuc":  # inf for the singular one (PyTorch's 'nuc' gives 6e16 there: rounding's number)
        differential(*_pair("cond", p=p), np.stack([RANK2, M3]), order=0)


# ---- products and the rest -------------------------------------------------------------------------------------


def test_vecdot_multi_dot_cross_diagonal_and_matrix_power_match_pytorch():
    differential(*_pair("vecdot"), RNG.standard_normal((2, 3)), RNG.standard_normal((4, 1, 3)))
    differential(*_pair("vecdot", dim=0), RNG.standard_normal((3, 2)), RNG.standard_normal((3, 1)))
    differential(*_pair("vecdot"), RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4)), refuses=True)
    chains = [
        [(3,), (3, 4), (4, 2), (2,)],
        [(5, 3), (3, 40), (40, 6), (6, 2)],
        [(2, 3), (3,)],
        [(3,), (3, 2)],
        [(0, 3), (3, 2)],
    ]
    for shapes in chains:
        arrays = [RNG.standard_normal(s) for s in shapes]
        differential(lambda *xs: tl.linalg.multi_dot(list(xs)), lambda *xs: TL.multi_dot(list(xs)), *arrays)
    differential(*_pair("cross"), RNG.standard_normal((4, 2, 3)), RNG.standard_normal((4, 1, 3)))
    differential(*_pair("cross"), RNG.standard_normal((2, 3)), RNG.standard_normal((4, 1, 3)), refuses=True)
    differential(*_pair("cross", dim=0), RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2)))
    differential(*_pair("diagonal", offset=1), X)
    differential(*_pair("diagonal", offset=-1, dim1=0, dim2=2), X)
    for n in (3, 0, 1, -2):
        differential(*_pair("matrix_power", n=n), BATCH)
    differential(*_pair("matmul"), X, RNG.standard_normal((4, 2)))


def test_multi_dot_picks_the_cheapest_order_and_refuses_what_does_not_chain():
    a, b, c = (tl.Tensor(RNG.standard_normal(s), requires_grad=True) for s in [(10, 100), (100, 5), (5, 50)])
    with tl.Tape() as tape:
        tl.linalg.multi_dot([a, b, c])
    # (a b) c costs 10*100*5 + 10*5*50 = 7,500; a (b c) costs 25,000 + 50,000
    assert [e.shape for e in tape if e.op == "matmul"] == [(10, 5), (10, 50)]
    a, b, c = (tl.Tensor(RNG.standard_normal(s), requires_grad=True) for s in [(50, 5), (5, 100), (100, 10)])
    with tl.Tape() as tape:
        tl.linalg.multi_dot([a, b, c])
    assert [e.shape for e in tape if e.op == "matmul"] == [(5, 10), (50, 10)]  # a (b c): 7,500, not 75,000
    with pytest.raises(ValueError, match=r"multi_dot: tensors 0 and 1 do not chain; got shapes \[\(2, 3\), \(4, 2\)\]"):
        tl.linalg.multi_dot([np.ones((2, 3)), np.ones((4, 2))])
    with pytest.raises(ValueError, match=r"expected at least 2 tensors, got 1"):
        tl.linalg.multi_dot([np.ones((2, 3))])
    with pytest.raises(ValueError, match=r"the first and last tensors must be 1-D or 2-D, the others 2-D"):
        tl.linalg.multi_dot([np.ones((2, 3)), np.ones(3), np.ones((3, 2))])


def test_cross_default_dims_linalg_takes_the_last_axis_torch_cross_the_first_of_length_3():
    a, b = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    np.testing.assert_allclose(tl.linalg.cross(a, b).data, TL.cross(torch.tensor(a), torch.tensor(b)).numpy())
    with pytest.warns(UserWarning, match="without specifying the dim"):
        expected = torch.cross(torch.tensor(a), torch.tensor(b)).numpy()
    with pytest.warns(UserWarning, match=r"tl\.cross without dim"):
        got = tl.cross(tl.Tensor(a), b)
    np.testing.assert_allclose(got.data, expected)
    assert not np.allclose(expected, TL.cross(torch.tensor(a), torch.tensor(b)).numpy())


def test_what_torch_linalg_has_and_tl_linalg_does_not_is_named():
    with pytest.raises(AttributeError, match=r"tl\.linalg\.qr is not implemented; tl\.linalg has SVDResult, cond"):
        tl.linalg.qr(np.eye(2))
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        tl.linalg.nonsense  # noqa: B018


def test_torch_norm_of_nuc_is_the_nuclear_norm_as_pytorchs():
    """``x.norm("nuc")`` (PyTorch's OpInfo sample for norm) was refused: p must be a number or 'fro'."""
    a = np.random.default_rng(0).standard_normal((3, 4, 5))
    for x_of, kwargs in [
        (lambda v: v[0], {}),
        (lambda v: v, {"dim": (1, 2)}),
        (lambda v: v, {"dim": (0, 2), "keepdim": True}),
    ]:
        found = []
        for L in (torch, tl):
            x = L.tensor(x_of(a).copy(), requires_grad=True)
            y = x.norm("nuc", **kwargs)
            y.sum().backward()
            found.append((np.array(y.tolist()), x.grad.numpy().copy()))
        for theirs, ours in zip(*found):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    with pytest.raises(ValueError, match=r"norm: p='nuc' of shape \(3, 4, 5\) needs a matrix"):
        tl.tensor(a).norm("nuc")


def test_solve_with_a_constant_matrix_to_second_order_as_pytorch():
    """solve(A, b) with A a constant (an array, not a tensor): b's gradient, and its second order under
    create_graph (the VJP's solve must be recorded when only g is a tensor). Mutants that computed the
    gradient of A when A needs none (its result is not kept then), or solved with NumPy when only g was
    a tensor, survived: no test had a constant A."""
    a = np.array([[2.0, 0.5, 0.1], [0.3, 1.5, -0.4], [0.2, -0.1, 1.0]])
    found = []
    for L in (torch, tl):
        A = torch.tensor(a) if L is torch else a
        b = L.tensor(np.array([[1.0, -1.0], [0.5, 2.0], [-0.3, 0.7]]), requires_grad=True)
        x = L.linalg.solve(A, b)
        (g,) = L.autograd.grad((x**3).sum(), b, create_graph=True)
        (h,) = L.autograd.grad((g * g).sum(), b)
        found.append((g.detach().numpy().copy() if L is torch else g.numpy().copy(), h.numpy().copy()))
    for theirs, ours in zip(*found):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)
