"""What an entry saves follows which inputs need a gradient, as in PyTorch's derivative formulas.

The matrix: every op x which inputs require grad x which tensor is changed in place after the op
(an input, through the graph or, for a leaf, under no_grad; or the op's result) x ten kinds of
in-place change; then a loss of the op's result is differentiated. The rule checked for every cell:

- where PyTorch computes, we compute, and our gradient equals PyTorch's;
- where PyTorch refuses ("modified by an inplace operation"), we may refuse too, or compute, but then
  exactly the reference.

The reference is the same program in PyTorch with the change made to a clone, so no saved tensor
is touched: the gradient the program means. A refusal PyTorch does not make is a false refusal; a
number that differs from the reference is a silent wrong result. Both fail.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")
TF = torch.nn.functional


# ---- the ops: (shapes of the inputs, ours, PyTorch's) ------------------------------------------------
M, V = (2, 3), (3,)
TARGETS = np.array([2, 0])
OPS = {
    "exp": ([M], lambda x: x.exp(), lambda x: x.exp()),
    "log": ([M], lambda x: x.log(), lambda x: x.log()),
    "sqrt": ([M], lambda x: x.sqrt(), lambda x: x.sqrt()),
    "rsqrt": ([M], lambda x: x.rsqrt(), lambda x: x.rsqrt()),
    "abs": ([M], lambda x: x.abs(), lambda x: x.abs()),
    "neg": ([M], lambda x: -x, lambda x: -x),
    "tanh": ([M], lambda x: x.tanh(), lambda x: x.tanh()),
    "sigmoid": ([M], lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "relu": ([M], lambda x: x.relu(), lambda x: x.relu()),
    "log1p": ([M], lambda x: x.log1p(), lambda x: x.log1p()),
    "expm1": ([M], lambda x: x.expm1(), lambda x: x.expm1()),
    "sin": ([M], lambda x: x.sin(), lambda x: x.sin()),
    "cos": ([M], lambda x: x.cos(), lambda x: x.cos()),
    "square": ([M], lambda x: x.square(), lambda x: x.square()),
    "clamp": ([M], lambda x: x.clamp(0.8, 1.2), lambda x: x.clamp(0.8, 1.2)),
    "clone": ([M], lambda x: x.clone(), lambda x: x.clone()),
    "mul_scalar": ([M], lambda x: x * 2.5, lambda x: x * 2.5),
    "div_scalar": ([M], lambda x: x / 2.5, lambda x: x / 2.5),
    "scalar_div": ([M], lambda x: 2.5 / x, lambda x: 2.5 / x),
    "pow_scalar": ([M], lambda x: x**3.0, lambda x: x**3.0),
    "scalar_pow": ([M], lambda x: 2.0**x, lambda x: 2.0**x),
    "sum": ([M], lambda x: x.sum(axis=1), lambda x: x.sum(dim=1)),
    "mean": ([M], lambda x: x.mean(), lambda x: x.mean()),
    "amax": ([M], lambda x: x.max(axis=1), lambda x: x.amax(dim=1)),
    "var": ([M], lambda x: x.var(axis=1), lambda x: x.var(dim=1)),
    "std": ([M], lambda x: x.std(), lambda x: x.std()),
    "norm": ([M], lambda x: x.norm(), lambda x: x.norm()),
    "prod": ([M], lambda x: x.prod(axis=1), lambda x: x.prod(dim=1)),
    "cumsum": ([M], lambda x: x.cumsum(axis=1), lambda x: x.cumsum(dim=1)),
    "softmax": ([M], lambda x: x.softmax(axis=1), lambda x: x.softmax(dim=1)),
    "log_softmax": ([M], lambda x: x.log_softmax(axis=1), lambda x: x.log_softmax(dim=1)),
    "logsumexp": ([M], lambda x: x.logsumexp(axis=1), lambda x: x.logsumexp(dim=1)),
    "cross_entropy": ([M], lambda x: F.cross_entropy(x, TARGETS), lambda x: TF.cross_entropy(x, torch.tensor(TARGETS))),
    "add": ([M, V], lambda a, b: a + b, lambda a, b: a + b),
    "sub": ([M, V], lambda a, b: a - b, lambda a, b: a - b),
    "mul": ([M, V], lambda a, b: a * b, lambda a, b: a * b),
    "div": ([M, V], lambda a, b: a / b, lambda a, b: a / b),
    "pow": ([M, V], lambda a, b: a**b, lambda a, b: a**b),
    "maximum": ([M, V], tl.maximum, torch.maximum),
    "minimum": ([M, V], tl.minimum, torch.minimum),
    "matmul": ([M, (3, 4)], lambda a, b: a @ b, lambda a, b: a @ b),
    "matmul_vector": ([M, V], lambda a, b: a @ b, lambda a, b: a @ b),
    "vector_matmul": ([(2,), M], lambda a, b: a @ b, lambda a, b: a @ b),
    "batched_matmul": ([(2, 2, 3), (3, 4)], lambda a, b: a @ b, lambda a, b: a @ b),
    "einsum": ([M, (3, 4)], lambda a, b: tl.einsum("ij,jk->ik", a, b), lambda a, b: torch.einsum("ij,jk->ik", a, b)),
    "where": (
        [M, V],
        lambda a, b: tl.where(np.array([True, False, True]), a, b),
        lambda a, b: torch.where(torch.tensor([True, False, True]), a, b),
    ),  # fmt: skip
    "cat": ([M, M], lambda a, b: tl.cat([a, b]), lambda a, b: torch.cat([a, b])),
    "stack": ([M, M], lambda a, b: tl.stack([a, b]), lambda a, b: torch.stack([a, b])),
    "mse_loss": ([M, M], F.mse_loss, TF.mse_loss),
    "bce_with_logits": ([M, M], F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits),
    # spellings added after the matrix was first run: what each saves follows PyTorch's too
    "tan": ([M], lambda x: x.tan(), lambda x: x.tan()),
    "asin": ([M], lambda x: (x * 0.5).asin(), lambda x: (x * 0.5).asin()),
    "cumprod": ([M], lambda x: x.cumprod(1), lambda x: x.cumprod(1)),
    "sort": ([M], lambda x: x.sort(1)[0], lambda x: x.sort(1)[0]),
    "topk": ([M], lambda x: x.topk(2, 1)[0], lambda x: x.topk(2, 1)[0]),
    "max_dim": ([M], lambda x: x.max(dim=1)[0], lambda x: x.max(dim=1)[0]),
    "diag": ([V], lambda x: x.diag(), lambda x: x.diag()),
    "trace": ([(3, 3)], lambda x: x.trace(), lambda x: x.trace()),
    "tile": ([M], lambda x: x.tile(2, 1), lambda x: x.tile(2, 1)),
    "movedim": ([(2, 3, 2)], lambda x: x.movedim(0, 2), lambda x: x.movedim(0, 2)),
    "repeat_interleave": ([M], lambda x: x.repeat_interleave(2, dim=1), lambda x: x.repeat_interleave(2, dim=1)),
    # (not unfold: it copies here and is a view in PyTorch, so a change of its input after it reaches
    # PyTorch's windows and not ours; the README's views paragraph says so)
    "layer_norm": ([M], lambda x: F.layer_norm(x, (3,)), lambda x: TF.layer_norm(x, (3,))),
    "atan2": ([M, V], tl.atan2, torch.atan2),
    "hypot": ([M, V], tl.hypot, torch.hypot),
    "remainder": ([M, V], lambda a, b: a % (b + 1.0), lambda a, b: a % (b + 1.0)),
    "lerp": ([M, M], lambda a, b: tl.lerp(a, b, 0.25), lambda a, b: torch.lerp(a, b, 0.25)),
    "outer": ([V, (2,)], tl.outer, torch.outer),
    "addmm": ([(2, 4), M, (3, 4)], tl.addmm, torch.addmm),
    "cosine_similarity": ([M, M], F.cosine_similarity, TF.cosine_similarity),
}

# ten kinds of in-place change, each spelled the same way in both libraries
CHANGES = {
    "add_": lambda t: t.add_(0.25),
    "sub_": lambda t: t.sub_(0.125),
    "mul_": lambda t: t.mul_(1.5),
    "div_": lambda t: t.div_(2.0),
    "iadd": lambda t: t.__iadd__(0.5),
    "copy_": lambda t: t.copy_(t.detach() * 0 + 0.75),
    "fill_": lambda t: t.fill_(0.875),
    "zero_": lambda t: t.zero_(),
    "clamp_": lambda t: t.clamp_(max=1.0),
    "setitem": lambda t: t.__setitem__(0 if t.ndim else ..., 0.625),
}


def _values(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 1.5, s) for s in shapes]


def _run(lib, fn, values, needs, target, change, clone):
    """One cell: the op on fresh inputs, the change, then a loss of the result differentiated.
    Returns the leaves' gradients, or the exception raised. ``target`` is ("in", k, leaf?) or ("out",)."""
    tensor = tl.tensor if lib == "tl" else (lambda v, requires_grad=False: torch.tensor(v, requires_grad=requires_grad))
    no_grad = tl.no_grad if lib == "tl" else torch.no_grad
    leaves = [tensor(v, requires_grad=bool(n)) for v, n in zip(values, needs)]
    inputs = list(leaves)
    if target[0] == "in" and needs[target[1]] and not target[2]:
        inputs[target[1]] = leaves[target[1]] * 1.0  # a result that requires grad: its change is recorded
    try:
        out = fn(*inputs)
        if target[0] == "in":
            changed = inputs[target[1]]
            if clone:  # the reference: the change touches no array the op saved
                changed = changed.clone() if changed.requires_grad else tensor(values[target[1]])
            if target[2]:
                with no_grad():
                    CHANGES[change](changed)
            else:
                CHANGES[change](changed)
        else:
            if clone:
                out = out.clone()
            CHANGES[change](out)
        weights = np.linspace(0.5, 1.5, out.numel() if lib == "torch" else out.data.size).reshape(tuple(out.shape))
        loss = (out * tensor(weights)).sum()
        grads = (lib == "tl" and tl.grad or torch.autograd.grad)(loss, [x for x in leaves if x.requires_grad])
        return [np.asarray(g.detach().numpy() if lib == "torch" else g.data) for g in grads]
    except RuntimeError as e:  # PyTorch's in-place refusals, and ours, are RuntimeErrors
        return e


def _cells(shapes):
    n = len(shapes)
    for needs in itertools.product([False, True], repeat=n):
        if not any(needs):
            continue
        targets = [("out",)]
        for k in range(n):
            targets.append(("in", k, False))  # a tensor that needs no grad, or a result (recorded change)
            if needs[k]:
                targets.append(("in", k, True))  # a leaf that requires grad, changed under no_grad
        for target in targets:
            for change in CHANGES:
                yield needs, target, change


@pytest.mark.parametrize("name", sorted(OPS))
def test_an_in_place_change_after_an_op_is_refused_only_where_pytorch_refuses(name):
    shapes, ours_fn, torch_fn = OPS[name]
    values = _values(shapes, len(name))
    problems = []
    cells = 0
    for needs, target, change in _cells(shapes):
        cells += 1
        what = f"{name}: requires grad {needs}, change {change} on {target}"
        theirs = _run("torch", torch_fn, values, needs, target, change, clone=False)
        reference = _run("torch", torch_fn, values, needs, target, change, clone=True)
        assert not isinstance(reference, Exception), (what, reference)
        ours = _run("tl", ours_fn, values, needs, target, change, clone=False)
        if isinstance(ours, Exception):
            if not isinstance(theirs, Exception):
                problems.append(f"{what}: refused ({ours}) where PyTorch computes")
            continue
        # where PyTorch computes, its number (a view's change reaches the view); where it refuses, the
        # number the program means
        expected = reference if isinstance(theirs, Exception) else theirs
        for k, (a, b) in enumerate(zip(ours, expected)):
            if not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
                problems.append(f"{what}: gradient {k} is {a.tolist()}, the reference {b.tolist()}")
    assert cells >= 30
    assert not problems, "\n".join(problems[:10]) + f"\n({len(problems)} of {cells} cells)"


def test_micrograd_readme_example_runs_verbatim_on_0d_tensors(capsys):
    """micrograd's README, with ``Value`` a 0-d tensor that requires grad: in-place ``+=`` on results,
    a division whose result is changed in place afterwards, and f-strings of 0-d tensors."""

    def Value(x):  # noqa: N802 - micrograd's name
        return tl.tensor(x, requires_grad=True)

    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    print(f"{g.data:.4f}")  # prints 24.7041, the outcome of this forward pass
    g.backward()
    print(f"{a.grad:.4f}")  # prints 138.8338, i.e. the numerical value of dg/da
    print(f"{b.grad:.4f}")  # prints 645.5773, i.e. the numerical value of dg/db
    assert capsys.readouterr().out.split() == ["24.7041", "138.8338", "645.5773"]


def test_a_kept_array_is_only_what_a_gradient_reads():
    """PyTorch's test_no_unnecessary_save, in this engine's terms: the entry of ``a * w`` where only
    ``w`` requires grad keeps ``a`` (for d w) and not ``w``; ``x / c`` keeps ``c`` only."""
    a, w = tl.tensor(np.ones(3)), tl.tensor(np.full(3, 2.0), requires_grad=True)
    y = a * w
    assert [role for role, _ in y.entry.saved()] == ["in0"]
    assert y.entry.saved()[0][1] is a.data
    x, c = tl.tensor(np.ones(3), requires_grad=True), tl.tensor(np.full(3, 4.0))
    assert [role for role, _ in (x / c).entry.saved()] == ["in1"]
    assert [role for role, _ in (x**3.0).entry.saved()] == ["in0"]  # not its own result
    assert [role for role, _ in (2.0**x).entry.saved()] == ["in1", "out"]


def test_pytorchs_save_and_load_spellings(tmp_path):
    """The PyTorch tutorial's lines: ``torch.save(model.state_dict(), "model.pth")`` and
    ``model.load_state_dict(torch.load("model.pth", weights_only=True))``; an open file; map_location."""
    import io

    model = tl.nn.Linear(3, 2)
    tl.save(model.state_dict(), tmp_path / "model.pth")
    other = tl.nn.Linear(3, 2)
    other.load_state_dict(tl.load(tmp_path / "model.pth", weights_only=True))
    assert np.array_equal(other.weight.data, model.weight.data)
    buffer = io.BytesIO()
    tl.save({"w": np.eye(2), "step": 3}, buffer)
    buffer.seek(0)
    loaded = tl.load(buffer, map_location="cpu")
    assert loaded["step"] == 3 and np.array_equal(loaded["w"], np.eye(2))
    for where in ({"cuda:0": "cpu"}, tl.device("cpu"), None):
        assert tl.load(tmp_path / "model.pth", map_location=where, weights_only=False).keys() == {"weight", "bias"}
    with pytest.raises(ValueError, match=r"load: there is one device here, the CPU; got device='cuda'"):
        tl.load(tmp_path / "model.pth", map_location="cuda")
    with pytest.raises(TypeError, match="load: map_location as a function"):
        tl.load(tmp_path / "model.pth", map_location=lambda storage, loc: storage)
    with pytest.raises(ValueError, match=r"open file BytesIO is not an .npz archive .*its bytes are not NumPy"):
        tl.load(io.BytesIO(b"not an archive"))


def test_a_saved_tensor_loads_as_a_tensor_with_its_requires_grad_as_torch_load_gives(tmp_path):
    """``torch.save(t)`` then ``torch.load`` gives a tensor back; tl.load gave a NumPy array (so
    ``.requires_grad``, ``.backward()`` or a Tensor method was an AttributeError). Arrays stay arrays."""
    t = tl.tensor(np.arange(3.0), requires_grad=True)
    tl.save({"t": t, "frozen": t.detach(), "array": np.ones(2)}, tmp_path / "t.pth")
    back = tl.load(tmp_path / "t.pth")
    assert isinstance(back["t"], tl.Tensor) and back["t"].requires_grad and back["t"].is_leaf
    assert isinstance(back["frozen"], tl.Tensor) and not back["frozen"].requires_grad
    assert type(back["array"]) is np.ndarray
    np.testing.assert_array_equal(back["t"].data, [0.0, 1.0, 2.0])
    (back["t"] ** 2).sum().backward()
    np.testing.assert_array_equal(back["t"].grad.data, [0.0, 2.0, 4.0])


def test_a_copied_tensor_or_module_gets_gradients_of_its_own_as_in_pytorch():
    """``copy.deepcopy(model)`` (a target network, a snapshot of the best model) shared each parameter's
    tape entry with the original: the copy's gradients went to the original, and an optimizer of the
    copy changed nothing, silently. Now as PyTorch: a new leaf (copy.copy: over the same memory)."""
    import copy

    torch = pytest.importorskip("torch")
    for lib in (tl, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        w.grad = lib.tensor([5.0, 5.0])
        deep = copy.deepcopy(w)
        (deep * 3).sum().backward()
        assert deep.grad.tolist() == [8.0, 8.0] and w.grad.tolist() == [5.0, 5.0], lib.__name__
        shallow = copy.copy(w)
        (shallow * 2).sum().backward()
        assert shallow.grad.tolist() == [2.0, 2.0] and w.grad.tolist() == [5.0, 5.0], lib.__name__
        with lib.no_grad():
            shallow.mul_(10)
        assert w.tolist() == [10.0, 20.0]  # copy.copy shares the memory, deepcopy does not
        assert deep.tolist() == [1.0, 2.0]
        with pytest.raises(RuntimeError, match="(?i)only (leaf )?tensors"):
            copy.deepcopy(w * 2)
    model = tl.nn.Linear(3, 1)
    twin = copy.deepcopy(model)
    assert type(twin.weight) is tl.nn.Parameter and twin.weight is not model.weight
    opt = tl.optim.SGD(twin.parameters(), lr=0.1)
    before, original = twin.weight.data.copy(), model.weight.data.copy()
    twin(tl.ones(2, 3)).sum().backward()
    opt.step()
    assert model.weight.grad is None and not np.array_equal(twin.weight.data, before)
    np.testing.assert_array_equal(model.weight.data, original)


def test_pickling_a_tensor_is_refused_with_the_way_to_save_it():
    import pickle

    with pytest.raises(TypeError, match=r"pickle: a Tensor \(weight, shape \(1, 3\).*tl.save"):
        pickle.dumps(tl.nn.Linear(3, 1))
