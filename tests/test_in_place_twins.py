"""PyTorch's in-place twins (``x.pow_(2)``, ``x.index_add_(...)``, ...), refused here before (found by running
the OpInfo samples' in-place variants): each against PyTorch in float64, on a non-leaf, through a view of
one (the base's gradient as PyTorch's CopySlices gives it), and on a leaf under no_grad."""

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.tensor import _IN_PLACE_TWINS

torch = pytest.importorskip("torch")

X = np.array([[0.3, -0.6, 0.8], [0.45, 0.1, -0.2], [0.7, -0.35, 0.05], [0.25, 0.55, -0.9]])  # in (-1, 1)
B = np.array([[0.5, 1.5, -0.7], [1.2, -0.4, 0.9], [-1.1, 0.6, 0.3], [0.8, 0.2, -0.6]])
IDX = np.array([2, 0, 2])
MASK = np.array([[True, False, True], [False, False, True], [True, True, False], [False, True, False]])


def _args(L, name):
    """The arguments of ``x.name_(...)`` for x of shape (4, 3), in library L; tensors require grad."""
    t = lambda a: L.tensor(a, requires_grad=True) if L is tl else torch.tensor(a, requires_grad=True)  # noqa: E731
    i = lambda a: L.tensor(a) if L is tl else torch.tensor(a)  # noqa: E731
    table = {
        "addbmm": ((t(np.ones((2, 4, 5)) * 0.3), t(np.linspace(0, 1, 30).reshape(2, 5, 3))), {"beta": 0.5, "alpha": 2}),
        "addcdiv": ((t(B), t(B * B + 1.0)), {"value": 0.5}),
        "addcmul": ((t(B), t(B * 0.5)), {"value": -2.0}),
        "addmm": ((t(np.ones((4, 2)) * 0.2), t(np.linspace(-1, 1, 6).reshape(2, 3))), {"beta": 2.0}),
        "atan2": ((t(B),), {}),
        "arctan2": ((t(B),), {}),
        "divide": ((t(B * B + 1.0),), {"rounding_mode": None}),
        "copysign": ((t(B),), {}),
        "xlogy": ((t(B * B + 0.5),), {}),
        "multiply": ((t(B),), {}),
        "subtract": ((t(B),), {"alpha": 2.0}),
        "clamp_max": ((0.4,), {}),
        "clamp_min": ((t(B * 0.1),), {}),
        "clip": ((-0.5, 0.5), {}),
        "cumprod": ((1,), {}),
        "cumsum": ((0,), {}),
        "fmod": ((0.25,), {}),
        "hypot": ((t(B),), {}),
        "index_add": ((0, i(IDX), t(np.ones((3, 3)) * 0.5)), {"alpha": 2.0}),
        "index_copy": ((0, i(np.array([3, 0, 1])), t(np.ones((3, 3)) * 0.5)), {}),
        "index_fill": ((1, i(np.array([0, 2])), -1.5), {}),
        "index_put": (((i(IDX), i(np.array([1, 1, 0]))), t(np.array([1.0, 2.0, 3.0]))), {"accumulate": True}),
        "lerp": ((t(B), 0.3), {}),
        "logit": ((0.05,), {}),
        "masked_scatter": ((i(MASK), t(np.linspace(1, 2, 12).reshape(4, 3))), {}),
        "nan_to_num": ((), {"nan": 0.0}),
        "pow": ((t(np.full((4, 3), 2.0)),), {}),
        "put": ((i(np.array([1, 7, 1])), t(np.array([1.0, 2.0, 3.0]))), {"accumulate": True}),
        "remainder": ((0.3,), {}),
        "round": ((), {"decimals": 1}),
        "scatter": ((1, i(np.array([[2], [0], [1], [2]])), t(np.ones((4, 1)))), {}),
        "scatter_add": ((0, i(np.array([[1, 0, 3], [1, 1, 0]])), t(np.ones((2, 3)) * 0.5)), {}),
        "tril": ((), {}),
        "polygamma": ((2,), {}),
        "mvlgamma": ((2,), {}),
        "triu": ((1,), {}),
        "true_divide": ((t(B * B + 1.0),), {}),
    }
    return table.get(name, ((), {}))


def _positive(name):
    return name in ("acosh", "arccosh", "log", "log10", "log1p", "log2", "rsqrt", "sqrt") or name == "pow"


def _base(name):
    if name == "acosh":
        return X + 2.0
    if name == "mvlgamma":  # above (p - 1) / 2
        return np.abs(X) + 1.0
    if _positive(name):
        return np.abs(X) + 0.5
    return X.copy()


SHAPE_TWINS = [n for n in _IN_PLACE_TWINS if n not in ("addmv", "addr", "baddbmm")]


def _run(L, name, base, through_view):
    leaf = L.tensor(base.copy(), requires_grad=True) if L is tl else torch.tensor(base.copy(), requires_grad=True)
    x = leaf * 1
    args, kwargs = _args(L, name)
    target = x[1:] if through_view else x
    if through_view:
        args, kwargs = _narrow(L, name, args, kwargs)
    getattr(target, name + "_")(*args, **kwargs)
    return leaf, x, args, kwargs


def _narrow(L, name, args, kwargs):
    """The same update of a (3, 3) view: arguments of the view's shape."""
    t = lambda a: L.tensor(a, requires_grad=True) if L is tl else torch.tensor(a, requires_grad=True)  # noqa: E731
    i = lambda a: L.tensor(a) if L is tl else torch.tensor(a)  # noqa: E731
    special = {
        "addbmm": ((t(np.ones((2, 3, 5)) * 0.3), t(np.linspace(0, 1, 30).reshape(2, 5, 3))), kwargs),
        "addcdiv": ((t(B[1:]), t(B[1:] ** 2 + 1.0)), kwargs),
        "addcmul": ((t(B[1:]), t(B[1:] * 0.5)), kwargs),
        "addmm": ((t(np.ones((3, 2)) * 0.2), t(np.linspace(-1, 1, 6).reshape(2, 3))), kwargs),
        "atan2": ((t(B[1:]),), {}),
        "clamp_min": ((t(B[1:] * 0.1),), {}),
        "hypot": ((t(B[1:]),), {}),
        "index_add": ((0, i(np.array([2, 0, 2])), t(np.ones((3, 3)) * 0.5)), kwargs),
        "index_copy": ((0, i(np.array([2, 0, 1])), t(np.ones((3, 3)) * 0.5)), {}),
        "index_put": (((i(np.array([2, 0, 2])), i(np.array([1, 1, 0]))), t(np.array([1.0, 2.0, 3.0]))), kwargs),
        "lerp": ((t(B[1:]), 0.3), {}),
        "masked_scatter": ((i(MASK[1:]), t(np.linspace(1, 2, 9).reshape(3, 3))), {}),
        "pow": ((t(np.full((3, 3), 2.0)),), {}),
        "put": ((i(np.array([1, 7, 1])), t(np.array([1.0, 2.0, 3.0]))), kwargs),
        "scatter": ((1, i(np.array([[2], [0], [1]])), t(np.ones((3, 1)))), {}),
        "scatter_add": ((0, i(np.array([[1, 0, 2], [1, 1, 0]])), t(np.ones((2, 3)) * 0.5)), {}),
        "true_divide": ((t(B[1:] ** 2 + 1.0),), {}),
    }
    return special.get(name, (args, kwargs))


def _grads(L, loss, tensors):
    if L is tl:
        return tl.grad(loss, tensors, allow_unused=True)
    return torch.autograd.grad(loss, tensors, allow_unused=True)


def _leaves(args, kwargs):
    found = []

    def walk(v):
        if isinstance(v, (tl.Tensor, torch.Tensor)) and v.requires_grad:
            found.append(v)
        elif isinstance(v, (tuple, list)):
            for u in v:
                walk(u)
        elif isinstance(v, dict):
            for u in v.values():
                walk(u)

    walk((args, kwargs))
    return found


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("through_view", [False, True], ids=["non-leaf", "view"])
@pytest.mark.parametrize("name", SHAPE_TWINS)
def test_in_place_twin_matches_pytorch(name, through_view):
    base = _base(name)
    w = np.random.default_rng(len(name)).standard_normal(base.shape)
    try:
        t_leaf, tx, targs, tkwargs = _run(torch, name, base, through_view)
    except (RuntimeError, NotImplementedError) as e:  # PyTorch's in-place acosh has no derivative, ...
        pytest.skip(f"PyTorch refuses: {str(e)[:80]}")
    leaf, x, args, kwargs = _run(tl, name, base, through_view)
    np.testing.assert_allclose(x.data, tx.detach().numpy(), rtol=1e-12, atol=1e-14, equal_nan=True)
    ours = _grads(tl, (x * w).sum(), [leaf, *_leaves(args, kwargs)])
    try:
        theirs = _grads(torch, (tx * torch.tensor(w)).sum(), [t_leaf, *_leaves(targs, tkwargs)])
    except NotImplementedError:  # "the derivative for 'inplace version of acosh' is not implemented":
        y = t_leaf * 1  # the same function written out of place
        y = torch.cat([y[:1], getattr(y[1:], name)()]) if through_view else getattr(y, name)()
        theirs = _grads(torch, (y * torch.tensor(w)).sum(), [t_leaf])
    assert len(ours) == len(theirs)
    rtol = 1e-9 if name == "digamma" else 1e-12  # its gradient is PyTorch's trigamma, good to ~5e-10
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None), name
        if a is not None:
            np.testing.assert_allclose(a.data, b.numpy(force=True), rtol=rtol, atol=1e-14, err_msg=name)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", SHAPE_TWINS)
def test_in_place_twin_of_a_leaf_under_no_grad_writes_its_memory(name):
    base = _base(name)
    ours, theirs = tl.tensor(base.copy(), requires_grad=True), torch.tensor(base.copy(), requires_grad=True)
    args, kwargs = _args(tl, name)
    targs, tkwargs = _args(torch, name)
    memory = ours.data
    with tl.no_grad():
        assert getattr(ours, name + "_")(*args, **kwargs) is ours
    with torch.no_grad():
        getattr(theirs, name + "_")(*targs, **tkwargs)
    assert ours.data is memory
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14, equal_nan=True)


def test_the_twins_of_products_of_other_ranks():
    """addmv_ (a vector), addr_ (an outer product), baddbmm_ (a batch): values and gradients."""
    rng = np.random.default_rng(0)
    cases = {
        "addmv": (rng.standard_normal(4), (rng.standard_normal((4, 3)), rng.standard_normal(3))),
        "addr": (rng.standard_normal((4, 3)), (rng.standard_normal(4), rng.standard_normal(3))),
        "baddbmm": (rng.standard_normal((2, 4, 3)), (rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 5, 3)))),
    }
    for name, (base, operands) in cases.items():
        results = []
        for L, make in ((tl, tl.tensor), (torch, torch.tensor)):
            leaf = make(base.copy(), requires_grad=True)
            others = [make(o.copy(), requires_grad=True) for o in operands]
            x = leaf * 1
            getattr(x, name + "_")(*others, beta=0.5, alpha=2.0)
            results.append((x, _grads(L, (x * x).sum(), [leaf, *others])))
        (x, ours), (tx, theirs) = results
        np.testing.assert_allclose(x.data, tx.detach().numpy(), rtol=1e-12)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-12, err_msg=name)


def test_a_twin_whose_result_changes_the_shape_is_refused_by_name():
    x = tl.tensor(np.ones(3)) * 1
    with pytest.raises(ValueError, match="addmm_"):
        x.addmm_(tl.tensor(np.ones((2, 2))), tl.tensor(np.ones((2, 3))))
    np.testing.assert_array_equal(x.data, np.ones(3))
