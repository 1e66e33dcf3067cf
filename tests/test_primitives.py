"""Every primitive gradchecked in float64, over broadcasting shapes (Hypothesis) and indexing."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, basic_indices, mutually_broadcastable_shapes

import tinygrad_lstm as tl

from .helpers import leaf
from .shapes import MATMUL_SHAPES

SETTINGS = settings(max_examples=20, deadline=None)


def pair_shapes():
    return mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@pytest.mark.parametrize(
    "fn, positive_b",
    [
        (lambda a, b: a + b, False),
        (lambda a, b: a - b, False),
        (lambda a, b: a * b, False),
        (lambda a, b: a / b, True),
        (lambda a, b: tl.maximum(a, b), False),
        (lambda a, b: tl.minimum(a, b), False),
    ],
    ids=["add", "sub", "mul", "div", "maximum", "minimum"],
)
@SETTINGS
@given(shapes=pair_shapes(), seed=st.integers(0, 2**16))
def test_binary_ops_broadcast(fn, positive_b, shapes, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a = leaf(sa, rng)
    b = leaf(sb, rng, 0.5, 2.0) if positive_b else leaf(sb, rng)
    assert tl.gradcheck(fn, (a, b))


@SETTINGS
@given(shapes=pair_shapes(), seed=st.integers(0, 2**16))
def test_pow_broadcast(shapes, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, b = leaf(sa, rng, 0.5, 2.0), leaf(sb, rng, -2.0, 2.0)
    assert tl.gradcheck(lambda a, b: a**b, (a, b))
    assert tl.gradcheck(lambda a: a**3, (a,))
    assert tl.gradcheck(lambda b: 2.0**b, (b,))


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=st.integers(0, 2**16))
def test_where_broadcast(shapes, seed):
    rng = np.random.default_rng(seed)
    sc, sa, sb = shapes.input_shapes
    cond = rng.random(sc) > 0.5
    a, b = leaf(sa, rng), leaf(sb, rng)
    assert tl.gradcheck(lambda a, b: tl.where(cond, a, b), (a, b))


@pytest.mark.parametrize(
    "name, fn, low, high",
    [
        ("neg", lambda x: -x, None, None),
        ("exp", lambda x: x.exp(), None, None),
        ("log", lambda x: x.log(), 0.3, 3.0),
        ("sqrt", lambda x: x.sqrt(), 0.3, 3.0),
        ("abs", lambda x: x.abs(), None, None),
        ("tanh", lambda x: x.tanh(), None, None),
        ("sigmoid", lambda x: x.sigmoid(), None, None),
        ("relu", lambda x: x.relu(), None, None),
        ("clip", lambda x: x.clip(-0.5, 0.7), None, None),
        ("clip_lower", lambda x: x.clip(min=0.1), None, None),
        ("astype", lambda x: (x.astype(np.longdouble) * x).astype(np.float64), None, None),
    ],
)
@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 2**16))
def test_unary_ops(name, fn, low, high, shape, seed):
    rng = np.random.default_rng(seed)
    x = leaf(shape, rng, low, high)
    if name in ("abs", "relu", "clip", "clip_lower"):  # keep away from the kinks
        x.data[np.abs(x.data) < 1e-3] = 0.5
        x.data[np.abs(x.data - 0.7) < 1e-3] = 0.2
        x.data[np.abs(x.data + 0.5) < 1e-3] = 0.3
        x.data[np.abs(x.data - 0.1) < 1e-3] = 0.4
    assert tl.gradcheck(fn, x)


def axis_and_shape():
    return array_shapes(min_dims=1, max_dims=3, max_side=4).flatmap(
        lambda s: st.tuples(
            st.just(s),
            st.one_of(
                st.none(),
                st.integers(-len(s), len(s) - 1),
                st.lists(st.integers(0, len(s) - 1), min_size=1, max_size=len(s), unique=True).map(tuple),
            ),
            st.booleans(),
        )
    )


@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "min", "logsumexp"])
@SETTINGS
@given(case=axis_and_shape(), seed=st.integers(0, 2**16))
def test_reductions(reduction, case, seed):
    shape, axis, keepdims = case
    rng = np.random.default_rng(seed)
    # distinct values, so max/min have a unique winner and are differentiable
    x = tl.Tensor(
        rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape),
        requires_grad=True,
    )
    assert tl.gradcheck(lambda x: getattr(x, reduction)(axis=axis, keepdims=keepdims), x)


def test_max_splits_gradient_among_ties():
    x = tl.Tensor(np.array([1.0, 3.0, 3.0, 2.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0.5, 0.5, 0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_family(axis):
    rng = np.random.default_rng(0)
    x = leaf((3, 4), rng)
    w = rng.standard_normal((3, 4))  # a weighted sum, so the check sees every output
    assert tl.gradcheck(lambda x: (x.softmax(axis) * w).sum(), x)
    assert tl.gradcheck(lambda x: x.log_softmax(axis), x)
    assert tl.gradcheck(lambda x: x.logsumexp(axis), x)


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul(sa, sb):
    rng = np.random.default_rng(1)
    assert tl.gradcheck(lambda a, b: a @ b, (leaf(sa, rng), leaf(sb, rng)))


def test_matmul_with_constant_operands():
    rng = np.random.default_rng(2)
    w = leaf((4, 3), rng)
    x = rng.standard_normal((5, 4))
    assert tl.gradcheck(lambda w: x @ w, w)
    assert tl.gradcheck(lambda w: w.T @ x.T, w)


@pytest.mark.parametrize(
    "name, fn",
    [
        ("reshape", lambda x: x.reshape(4, 6)),
        ("reshape_neg", lambda x: x.reshape((-1, 3))),
        ("transpose", lambda x: x.transpose()),
        ("transpose_axes", lambda x: x.transpose((1, 2, 0))),
        ("T", lambda x: x.T),
        ("swapaxes", lambda x: x.swapaxes(0, 2)),
        ("expand_dims", lambda x: x.expand_dims(1)),
        ("squeeze", lambda x: x.reshape(2, 1, 12, 1).squeeze()),
        ("squeeze_axis", lambda x: x.reshape(2, 1, 12).squeeze(1)),
        ("broadcast_to", lambda x: x[:, :1].broadcast_to((5, 2, 3, 4))),
    ],
)
def test_shape_ops(name, fn):
    x = leaf((2, 3, 4), np.random.default_rng(3))
    assert tl.gradcheck(fn, x)


@pytest.mark.parametrize(
    "index",
    [
        1,
        -1,
        (1, 2, 0),  # one element: its gradient is added to a single entry of the buffer
        (slice(None), 2),
        (slice(None, None, -1),),
        (slice(3, 0, -2), slice(None), None),
        (Ellipsis, 1),
        (None, 0, slice(1, 3)),
        np.array([0, 2, 2, 3]),  # repeated integer indices add up
        (np.array([[0, 1], [3, 3]]), slice(1, None)),
        (slice(None), np.array([1, 1, 0])),
        (np.array([0, 3]), np.array([2, 2])),
    ],
)
def test_getitem(index):
    x = leaf((4, 3, 2), np.random.default_rng(4))
    assert tl.gradcheck(lambda x: x[index], x)


def test_getitem_boolean_masks_and_tensor_indices():
    rng = np.random.default_rng(5)
    x = leaf((4, 3), rng)
    mask = rng.random((4, 3)) > 0.4
    assert tl.gradcheck(lambda x: x[mask], x)
    assert tl.gradcheck(lambda x: x[tl.Tensor(mask)], x)
    assert tl.gradcheck(lambda x: x[np.array([True, False, True, True])], x)
    assert tl.gradcheck(lambda x: x[tl.Tensor(np.array([3, 0, 3]))], x)


@SETTINGS
@given(seed=st.integers(0, 2**16), n=st.integers(1, 4), axis=st.integers(-3, 2))
def test_cat_stack_split(seed, n, axis):
    rng = np.random.default_rng(seed)
    parts = [leaf((2, 3, 2), rng) for _ in range(n)]
    assert tl.gradcheck(lambda *ps: tl.cat(ps, axis=axis), parts)
    ax = axis % 4 - (4 if axis < 0 else 0)  # stack has one more axis
    assert tl.gradcheck(lambda *ps: tl.stack(ps, axis=ax), parts)
    x = leaf((4, 6, 2), rng)
    assert tl.gradcheck(lambda x: tl.cat([p * (i + 1) for i, p in enumerate(tl.split(x, 2, axis=1))], axis=1), x)
    assert tl.gradcheck(lambda x: tl.split(x, [1, 3], axis=0)[1] * tl.split(x, [1, 3], axis=0)[2].sum(), x)


def test_cat_with_constant_part():
    rng = np.random.default_rng(6)
    a, const = leaf((2, 3), rng), rng.standard_normal((1, 3))
    assert tl.gradcheck(lambda a: tl.cat([a, const, a * 2], axis=0), a)


def test_composite_through_many_primitives():
    rng = np.random.default_rng(7)
    x, w, b = leaf((5, 4), rng), leaf((4, 8), rng), leaf((8,), rng)

    def gate_step(x, w, b):
        i, f, g, o = tl.split(x @ w + b, 4, axis=1)
        c = i.sigmoid() * g.tanh() + f.sigmoid() * 0.5
        return o.sigmoid() * c.tanh()

    assert tl.gradcheck(gate_step, (x, w, b))


@SETTINGS
@given(
    data=st.data(),
    shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    seed=st.integers(0, 2**16),
)
def test_getitem_property(data, shape, seed):
    """Basic indices (Hypothesis), integer arrays with repeats and boolean masks, on random shapes."""
    rng = np.random.default_rng(seed)
    x = leaf(shape, rng)
    basic = data.draw(basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    ints = tuple(rng.integers(-n, n, size=data.draw(st.integers(1, 5))) for n in shape[:1])
    mask = rng.random(shape) > 0.5
    assert tl.gradcheck(lambda x: x[basic], x)
    assert tl.gradcheck(lambda x: x[ints], x)
    assert tl.gradcheck(lambda x: x[mask] * 2, x)
