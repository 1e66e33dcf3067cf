"""einsum in every spelling NumPy and PyTorch accept: implicit output, '...', repeated indices (diagonals
and traces), size-1 axes broadcast, PyTorch's list of operands. Values, gradients and second derivatives
against PyTorch; gradchecks in float64 without it; mistakes named before anything is recorded."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lstm as tl

# spelling -> operand shapes
CASES = {
    "ii": [(3, 3)],  # trace
    "ii->i": [(3, 3)],  # diagonal
    "iij->ji": [(2, 2, 3)],
    "iji->j": [(2, 3, 2)],  # repeated axes apart
    "iijj->": [(2, 2, 3, 3)],  # two repeated indices
    "ij,kj": [(2, 3), (4, 3)],  # implicit output: i, k
    "ji": [(2, 3)],  # implicit output sorts: a transpose
    "ba,Ab": [(2, 3), (4, 2)],  # capitals sort first
    "i,i": [(3,), (3,)],  # implicit: a dot product
    "...ij,...jk->...ik": [(2, 2, 3), (3, 4)],  # batched product, '...' broadcast
    "...i,...i->...": [(2, 3), (3,)],
    "...i,...i": [(4, 1, 3), (2, 3)],  # implicit with '...': (4, 2)
    "i...->...": [(2, 3, 4)],
    "...ii->...i": [(2, 3, 3)],
    "...i->i": [(2, 3)],  # '...' summed when the output leaves it out (PyTorch's rule)
    "...": [(2, 3)],
    "ij,ij->ij": [(2, 3), (1, 3)],  # a size-1 axis broadcast
    "bij,bjk->bik": [(1, 2, 3), (4, 3, 2)],
    "i,j->ij": [(3,), (1,)],
    "ij,jk,kl->il": [(2, 3), (3, 4), (4, 2)],
}


def _values(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, s) for s in shapes]


@pytest.mark.parametrize("spec", sorted(CASES))
def test_einsum_equals_pytorchs_to_second_order(spec):
    torch = pytest.importorskip("torch")
    arrays = _values(CASES[spec])
    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    out, tout = tl.einsum(spec, *xs), torch.einsum(spec, *ts)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    weight = np.random.default_rng(1).uniform(-1.0, 1.0, tout.shape)
    loss, tloss = (out**2 * weight).sum(), (tout**2 * torch.tensor(weight)).sum()
    grads = tl.grad(loss, xs, create_graph=True)
    tgrads = torch.autograd.grad(tloss, ts, create_graph=True)
    for g, tg in zip(grads, tgrads):
        np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    sum(((g * g).sum() for g in grads), tl.zeros(())).backward()
    sum(((g * g).sum() for g in tgrads), torch.zeros((), dtype=torch.float64)).backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("spec", sorted(CASES))
def test_einsum_gradchecks_in_float64(spec):
    xs = [tl.Tensor(a, requires_grad=True) for a in _values(CASES[spec], seed=2)]
    assert tl.gradcheck(lambda *v: tl.einsum(spec, *v) ** 2, xs)


def test_einsum_values_by_hand():
    a = np.arange(9.0).reshape(3, 3)
    assert tl.einsum("ii", a).item() == 0 + 4 + 8
    assert tl.einsum("ii->i", a).tolist() == [0, 4, 8]
    assert tl.einsum("ji", a).tolist() == a.T.tolist()
    b = np.arange(6.0).reshape(2, 3)
    assert tl.einsum("...i->i", b).tolist() == [3.0, 5.0, 7.0]
    assert tl.einsum("ij,jk", [b, b.T]).tolist() == (b @ b.T).tolist()  # PyTorch's list form


def test_a_trace_gradient_is_the_identity():
    a = tl.Tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    tl.einsum("ii", a).backward()
    np.testing.assert_array_equal(a.grad.data, np.eye(3))


@pytest.mark.parametrize(
    "spec, shapes, message",
    [
        ("ij,jk,k", [(2, 3), (3, 2)], "it names 3 operand"),
        ("ij", [(2, 3, 4)], r"'ij' names 2 axes, an operand of shape \(2, 3, 4\) has 3"),
        ("...ijk", [(2, 3)], "names 3 axes"),
        ("ij,jk->ik", [(2, 3), (4, 2)], r"index 'j' has size 3 in operand 0 \(shape \(2, 3\)\) and 4 in operand 1"),
        ("ii", [(2, 3)], r"index 'i' repeats in an operand of shape \(2, 3\) over axes of sizes \[2, 3\]"),
        ("ij->ii", [(2, 2)], "names an index twice"),
        ("ij->k", [(2, 2)], "the output names k, which no operand has"),
        ("ij->...", [(2, 2)], "the output has '...' and no operand does"),
        ("i.j", [(2, 2)], "may hold only letters"),
        ("i1", [(2, 2)], "may hold only letters"),
        ("ij->i->j", [(2, 2)], "may hold only letters"),
    ],
)
def test_einsum_mistakes_are_named_and_nothing_is_recorded(spec, shapes, message):
    xs = [tl.Tensor(np.ones(s), requires_grad=True) for s in shapes]
    with tl.Tape() as tape, pytest.raises(ValueError, match=message) as info:
        tl.einsum(spec, *xs)
    assert str(info.value).startswith("einsum: ")
    assert len(tape) == 0


def _spellings():
    """A random einsum: 1-3 operands over a few letters, repeats, '...', implicit or explicit output."""
    from hypothesis import strategies as st

    @st.composite
    def spelling(draw):
        letters = "ijkB"
        sizes = {c: draw(st.integers(1, 3)) for c in letters}
        dots = draw(st.lists(st.integers(1, 2), max_size=2))  # the '...' axes, broadcast right-aligned
        terms, shapes = [], []
        for _ in range(draw(st.integers(1, 3))):
            named = draw(st.lists(st.sampled_from(letters), max_size=3))
            ellipsis = bool(dots) and draw(st.booleans())
            tail = dots[len(dots) - draw(st.integers(0, len(dots))) :] if ellipsis else []
            # a size-1 axis broadcasts against the letter's size, as both libraries allow
            shape = [1 if draw(st.booleans()) and len(set(named)) == len(named) else sizes[c] for c in named]
            terms.append(("..." if ellipsis else "") + "".join(named))
            shapes.append(tuple(tail) + tuple(shape))
        if draw(st.booleans()):
            return ",".join(terms), shapes
        used = sorted(set("".join(terms).replace(".", "")))
        out = draw(st.lists(st.sampled_from(used), unique=True)) if used else []
        prefix = "..." if any("..." in t for t in terms) and draw(st.booleans()) else ""
        return ",".join(terms) + "->" + prefix + "".join(out), shapes

    return spelling()


def test_generated_spellings_equal_pytorchs_or_both_refuse():
    """Spellings drawn at random (repeats, '...', size-1 axes, implicit outputs): the value and the gradient
    equal PyTorch's wherever PyTorch computes, and wherever it refuses so does this engine."""
    torch = pytest.importorskip("torch")
    from hypothesis import HealthCheck, given, settings

    computed = [0]

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_spellings())
    def check(case):
        spec, shapes = case
        arrays = _values(shapes, seed=3)
        ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
        try:
            tout = torch.einsum(spec, *ts)
        except (RuntimeError, ValueError):
            with pytest.raises(ValueError, match="einsum: "):
                tl.einsum(spec, *[tl.Tensor(a) for a in arrays])
            return
        xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
        out = tl.einsum(spec, *xs)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
        weight = np.random.default_rng(1).uniform(-1.0, 1.0, tout.shape)
        (out * weight).sum().backward()
        (tout * torch.tensor(weight)).sum().backward()
        for x, t in zip(xs, ts):
            np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-12)
        computed[0] += 1

    check()
    assert computed[0] >= 50, f"only {computed[0]} drawn spellings were computed by PyTorch: the draw compares little"
