"""Views and in-place changes, by PyTorch's rules: a view shares its base's memory; a write through either
side is seen by the other, values and gradients alike (PyTorch rebases the graph; so does this engine);
a view of a leaf that requires grad refuses in-place writes; flip copies; one element is a 0-d view.

The matrix runs each program in PyTorch and here: the base (a leaf, a result, a plain tensor, a plain
tensor that requires grad after the view was made) x the view op x which side is written x the kind of
write; then a loss reads both sides. Both refuse, or both compute the same values and gradients.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")

VIEWS = {
    "rows": lambda x: x[1:],
    "row": lambda x: x[0],
    "column": lambda x: x[:, 1],
    "element": lambda x: x[1, 2],
    "T": lambda x: x.T,
    "transpose(0, 1)": lambda x: x.transpose(0, 1),
    "reshape": lambda x: x.reshape(6),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "expand (no copy)": lambda x: x.unsqueeze(0).expand(1, 2, 3),
    "view of a view": lambda x: x.T[1:],
}
WRITES = {
    "add_ grad": lambda t, w: t.add_(w),
    "mul_": lambda t, w: t.mul_(2.0),
    "setitem grad": lambda t, w: t.__setitem__(..., w * 3.0),
    "copy_ grad": lambda t, w: t.copy_(w.expand(*t.shape) if t.ndim else w),
    "sub_ plain": lambda t, w: t.sub_(0.25),
}
BASES = ["leaf", "result", "plain", "plain, then requires grad"]


def _program(lib, base_kind, view_name, side, write_name):
    make = tl.tensor if lib == "tl" else torch.tensor
    data = np.arange(6.0).reshape(2, 3) / 4.0 + 0.5
    w = make(data.copy(), requires_grad=True)
    w2 = make(np.array(0.75), requires_grad=True)
    if base_kind == "leaf":
        base = w
    elif base_kind == "result":
        base = w * 1.0
    else:
        base = make(data.copy())
    view = VIEWS[view_name](base)
    if base_kind == "plain, then requires grad":
        base.requires_grad_(True)
        w = base
    try:
        WRITES[write_name](view if side == "view" else base, w2)
        r_base = make(np.linspace(1.0, 2.0, 6).reshape(2, 3))
        r_view = make(np.linspace(-1.0, 1.0, int(np.prod(view.shape))).reshape(tuple(view.shape)))
        loss = (base * r_base).sum() + (view * r_view).sum()
        leaves = [t for t in (w, w2) if t.requires_grad]
        grad = tl.grad if lib == "tl" else torch.autograd.grad
        grads = grad(loss, leaves, allow_unused=True) if loss.requires_grad else [None] * len(leaves)
    except RuntimeError as e:
        return "refused", str(e)

    def array(t):
        return None if t is None else np.asarray(t.detach().numpy() if lib == "torch" else t.data)

    return array(base), array(view), array(loss), [array(g) for g in grads]


CASES = list(itertools.product(BASES, VIEWS, ["view", "base"], WRITES))


@pytest.mark.parametrize("base_kind, view_name", list(itertools.product(BASES, VIEWS)))
def test_writes_through_views_and_bases_match_pytorch(base_kind, view_name):
    problems = []
    for side, write_name in itertools.product(["view", "base"], WRITES):
        what = f"{base_kind} base, view {view_name}, write {write_name} into the {side}"
        ours = _program("tl", base_kind, view_name, side, write_name)
        theirs = _program("torch", base_kind, view_name, side, write_name)
        refused = [isinstance(r[0], str) for r in (ours, theirs)]
        if any(refused):
            if refused[0] != refused[1]:
                problems.append(f"{what}: ours {ours[1][:160] if refused[0] else 'computes'}, "
                                f"PyTorch {theirs[1][:160] if refused[1] else 'computes'}")  # fmt: skip
            continue
        for name, a, b in zip(["base", "view", "loss"], ours[:3], theirs[:3]):
            if not np.allclose(a, b, rtol=1e-12, atol=0):
                problems.append(f"{what}: {name} {a.tolist()} vs PyTorch {b.tolist()}")
        for k, (a, b) in enumerate(zip(ours[3], theirs[3])):
            if (a is None) != (b is None) or (a is not None and not np.allclose(a, b, rtol=1e-12, atol=0)):
                problems.append(f"{what}: gradient {k} {a} vs PyTorch {b}")
    assert not problems, "\n".join(problems)


def test_a_view_of_a_leaf_refuses_in_place_writes_and_changes_nothing():
    a = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf tensor that requires grad"):
        a[:2].mul_(2)
    w = tl.tensor(np.ones((2, 2)), requires_grad=True)
    v = w.reshape(4)
    with pytest.raises(RuntimeError, match="view of a leaf tensor that requires grad"):
        v += 1
    np.testing.assert_array_equal(a.data, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(w.data, np.ones((2, 2)))
    with tl.no_grad():  # an update of a parameter through a view, as PyTorch allows
        a[:2].mul_(2)
    np.testing.assert_array_equal(a.data, [2.0, 4.0, 3.0])


def test_one_element_is_a_view_and_flip_a_copy_as_in_pytorch():
    w = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with tl.no_grad():
        w[0].mul_(2)
    with torch.no_grad():
        tw[0].mul_(2)
    np.testing.assert_array_equal(w.data, tw.detach().numpy())
    f, tf = tl.tensor([1.0, 2.0]).flip(0), torch.tensor([1.0, 2.0]).flip(0)
    f += 10
    tf += 10
    x = tl.tensor([1.0, 2.0])
    assert not np.shares_memory(x.flip(0).data, x.data)
    np.testing.assert_array_equal(f.data, tf.numpy())


def test_retain_grad_follows_the_tensor_through_an_in_place_change():
    results = []
    for lib in (tl, torch):
        x = (tl.tensor if lib is tl else torch.tensor)(np.array([1.0, 2.0]), requires_grad=True)
        y = x * 2.0
        y.retain_grad()
        y.mul_(3)
        (y * y).sum().backward()
        results.append(np.asarray(y.grad.detach().numpy() if lib is torch else y.grad.data))
    np.testing.assert_array_equal(results[0], results[1])  # 12, 24: the gradient of the new y


def test_writing_into_an_expansion_that_repeats_memory_is_refused_clearly():
    x = tl.tensor([1.0, 2.0]).expand(3, 2)
    with pytest.raises(ValueError, match="more than one element"):
        x += 1


# ---- diagonal is a view whatever the layout (it was a copy of a transpose's or a slice's) -------------
DIAGONAL_BASES = {
    "contiguous": lambda T, a: a,
    "transpose": lambda T, a: a.t(),
    "slice": lambda T, a: a[:, 1:],
    "3-d transposed": lambda T, a: a.reshape(2, 3, 2).transpose(0, 2),
}


@pytest.mark.parametrize("base", sorted(DIAGONAL_BASES))
def test_a_write_into_a_diagonal_reaches_its_base_as_in_pytorch(base):
    """``x.diagonal().zero_()`` zeroes x's diagonal; it silently did nothing when x was a transpose."""
    results = []
    for T in (torch, tl):
        x = DIAGONAL_BASES[base](T, T.tensor(np.arange(12.0).reshape(3, 4)))
        x.diagonal(0, 0, 1).zero_()
        x.diagonal(1, 0, 1).fill_(-1.0)
        results.append(np.array(x.tolist()))
    np.testing.assert_array_equal(results[1], results[0])


@pytest.mark.parametrize("base", sorted(DIAGONAL_BASES))
def test_diagonal_views_through_recorded_writes_match_pytorchs_gradients(base):
    found = []
    for T in (torch, tl):
        w = T.tensor(np.linspace(0.5, 2.0, 12).reshape(3, 4), dtype=T.float64, requires_grad=True)
        x = DIAGONAL_BASES[base](T, w * 1.0)
        d = x.diagonal(0, 0, 1)
        x.mul_(2.0)  # the diagonal taken before sees the new values, and so does its gradient
        d.mul_(3.0)  # a recorded write through the view reaches x
        loss = (x * T.tensor(np.arange(x.numel(), dtype=np.float64).reshape(tuple(x.shape)))).sum() + d.sum()
        loss.backward()
        found.append((np.array(d.tolist()), np.array(x.tolist()), w.grad.numpy().copy()))
    for theirs, ours in zip(*found):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_fill_diagonal_as_pytorchs():
    for shape, wrap in [((3, 3), False), ((7, 3), True), ((7, 3), False), ((2, 2, 2), False), ((3, 5), False)]:
        found = []
        for T in (torch, tl):
            w = T.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape), requires_grad=True)
            x = w * 2.0
            x.fill_diagonal_(5.0, wrap=wrap)
            (x * x).sum().backward()
            found.append((np.array(x.tolist()), w.grad.numpy().copy()))
        for theirs, ours in zip(*found):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg=str((shape, wrap)))
    with pytest.raises(
        ValueError, match=r"fill_diagonal_: needs a matrix, or all axes of one length; got shape \(2, 3, 4\)"
    ):
        tl.zeros(2, 3, 4).fill_diagonal_(1.0)


def test_diagonal_scatter_refuses_a_source_of_another_shape():
    with pytest.raises(ValueError, match=r"diagonal_scatter: src has shape \(2,\); the diagonal .* has shape \(3,\)"):
        tl.diagonal_scatter(tl.zeros(3, 3), tl.ones(2))
