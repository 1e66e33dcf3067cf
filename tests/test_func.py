"""``tl.func``: ``torch.func``'s transforms (grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd,
hessian, vmap), against PyTorch's in float64, composed as PyTorch code composes them (a second derivative by grad of
grad, per-sample gradients by vmap of grad, a gradient through vmap). The module was functional_call
alone: each of these was an AttributeError."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import tinygrad_lstm as tl

from .programs import leaf_arrays, programs, run, tangents_and_torch_jvp

torch = pytest.importorskip("torch")

X = np.array([0.5, -1.0, 2.0])
W = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 1.5]])

CASES = {
    "grad": lambda L, F: F.grad(lambda x: (x.sin() * x).sum())(L.tensor(X)),
    "grad of two arguments": lambda L, F: F.grad(lambda a, b: (a * b.exp()).sum(), argnums=(0, 1))(
        L.tensor(X), L.tensor(X * 2)
    ),
    "grad with aux": lambda L, F: F.grad(lambda a: ((a**2).sum(), a.mean()), has_aux=True)(L.tensor(X)),
    "grad_and_value": lambda L, F: F.grad_and_value(lambda a: (a**3).sum())(L.tensor(X)),
    "grad of grad": lambda L, F: F.grad(lambda a: F.grad(lambda b: (b.sin() * b**2).sum())(a).sum())(L.tensor(X)),
    "vjp": lambda L, F: F.vjp(lambda a: a.tanh() * 2, L.tensor(X))[1](L.tensor(np.array([1.0, -2.0, 0.5])))[0],
    "jacrev": lambda L, F: F.jacrev(lambda a: L.tensor(W) @ a.sin())(L.tensor(X)),
    "jacfwd": lambda L, F: F.jacfwd(lambda a: L.tensor(W) @ a.sin())(L.tensor(X)),
    "hessian": lambda L, F: F.hessian(lambda a: (a.sin() * a**2).sum())(L.tensor(X)),
    "jacfwd of jacrev": lambda L, F: F.jacfwd(F.jacrev(lambda a: (a.sin() * a**2).sum()))(L.tensor(X)),
    "vmap": lambda L, F: F.vmap(lambda r: r.dot(r))(L.tensor(W)),
    "vmap in_dims": lambda L, F: F.vmap(lambda r, s: r * s, in_dims=(1, None))(L.tensor(W), L.tensor(2.0)),
    "vmap out_dims": lambda L, F: F.vmap(lambda r: (r * 2, r.sum()), out_dims=(1, 0))(L.tensor(W)),
    "per-sample gradients": lambda L, F: F.vmap(F.grad(lambda w, xi: (w * xi).sum().tanh()), in_dims=(None, 0))(
        L.tensor(X), L.tensor(W)
    ),
    "grad through vmap": lambda L, F: F.grad(lambda w: F.vmap(lambda r: (r * w).sum() ** 2)(L.tensor(W)).sum())(
        L.tensor(X)
    ),
    "jvp": lambda L, F: F.jvp(lambda a: L.tensor(W) @ a.sin(), (L.tensor(X),), (L.tensor(X[::-1].copy()),)),
    "jvp of two arguments, two outputs": lambda L, F: F.jvp(
        lambda a, b: (a * b.exp(), (a**2).sum()), (L.tensor(X), L.tensor(X * 2)), (L.tensor(X), L.tensor(-X))
    ),
    "jvp with aux": lambda L, F: F.jvp(lambda a: (a.tanh(), a.sum()), (L.tensor(X),), (L.tensor(X),), has_aux=True),
    "jvp of grad (a Hessian-vector product)": lambda L, F: F.jvp(
        F.grad(lambda a: (a.sin() * a**2).sum()), (L.tensor(X),), (L.tensor(np.array([1.0, 0.0, -2.0])),)
    ),
    "grad of jvp": lambda L, F: F.grad(
        lambda a: F.jvp(lambda b: (b**3).sin(), (a,), (L.tensor(np.array([1.0, 2.0, 3.0])),))[1].sum()
    )(L.tensor(X)),
    "jvp of a constant": lambda L, F: F.jvp(
        lambda a: L.tensor(W).sum() + 0 * a.sum().detach(), (L.tensor(X),), (L.tensor(X),)
    ),
    "jacrev with aux": lambda L, F: F.jacrev(lambda a: (a.sin() * a, a.sum()), has_aux=True)(L.tensor(X)),
    "jacfwd with aux": lambda L, F: F.jacfwd(lambda a: (a.exp() @ L.tensor(W.T), a.max()), has_aux=True)(L.tensor(X)),
    "torch.vmap": lambda L, F: L.vmap(lambda r: r.dot(r))(L.tensor(W)),
    "linearize": lambda L, F: [
        fn(L.tensor(v)) for out, fn in [F.linearize(lambda a: a.exp() * a, L.tensor(X))] for v in (X, 2 * X)
    ],
}


def _lists(r):
    if isinstance(r, (tuple, list)):
        return [_lists(v) for v in r]
    return np.asarray(r.tolist(), dtype=float)


def _close(a, b) -> bool:
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return not isinstance(b, list) and a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_func_transforms_give_pytorchs_numbers(name):
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        theirs = _lists(CASES[name](torch, torch.func))
    finally:
        torch.set_default_dtype(before)
    ours = _lists(CASES[name](tl, tl.func))
    assert _close(theirs, ours), (theirs, ours)


def test_grad_refuses_what_is_no_scalar_and_arguments_it_cannot_differentiate():
    with pytest.raises(ValueError, match=r"grad: func must return one number .* got \(3,\)"):
        tl.func.grad(lambda x: x * 2)(tl.tensor(X))
    with pytest.raises(TypeError, match="grad: cannot differentiate with respect to a int64 tensor"):
        tl.func.grad(lambda x: x.sum())(tl.tensor(np.array([1, 2])))
    with pytest.raises(ValueError, match=r"grad: argnums=2 must name positional arguments of the 1 given"):
        tl.func.grad(lambda x: x.sum(), argnums=2)(tl.tensor(X))
    with pytest.raises(ValueError, match="vmap: the batched arguments .* need one batch size"):
        tl.func.vmap(lambda a, b: a * b)(tl.tensor(W), tl.tensor(X))
    with pytest.raises(TypeError, match="jvp: primals must be a tuple .* got Tensor"):
        tl.func.jvp(lambda x: x * 2, tl.tensor(X), (tl.tensor(X),))
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(2,\), its primal \(3,\)"):
        tl.func.jvp(lambda x: x * 2, (tl.tensor(X),), (tl.tensor(X[:2]),))
    with pytest.raises(
        ValueError, match=r"jvp: tangents must be a tuple shaped as the primals \(1 entries, 1 Tensors\), got 2"
    ):
        tl.func.jvp(lambda x: x * 2, (tl.tensor(X),), (tl.tensor(X), tl.tensor(X)))


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(programs())
def test_grad_and_hessian_of_generated_programs_as_torch_func(program):
    """tl.func.grad and hessian of the differential tests' generated programs, against torch.func
    wherever PyTorch computes them (300 examples passed by hand; 30 here)."""
    arrays = leaf_arrays(program)
    nums = tuple(range(len(arrays)))
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        theirs = [
            transform(lambda *xs: run(program, list(xs), "torch")[0], argnums=nums)(*[torch.tensor(a) for a in arrays])
            for transform in (torch.func.grad, torch.func.hessian)
        ]
    except Exception:  # noqa: BLE001 - what torch.func cannot transform is no comparison
        return
    finally:
        torch.set_default_dtype(before)
    ours = [
        transform(lambda *xs: run(program, list(xs), "tl")[0], argnums=nums)(*[tl.tensor(a.copy()) for a in arrays])
        for transform in (tl.func.grad, tl.func.hessian)
    ]
    for t, o in zip(_flat(theirs), _flat(ours)):
        expected = t.detach().numpy(force=True)
        np.testing.assert_allclose(o.numpy(), expected, rtol=1e-6, atol=1e-8, equal_nan=True)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(programs())
def test_jvp_of_generated_programs_as_torch_func(program):
    """tl.func.jvp (forward mode by the double-VJP trick) of the generated programs, along tangents
    drawn per input, against torch.func.jvp (PyTorch's own forward mode) wherever PyTorch computes it."""
    arrays, tangents, theirs = tangents_and_torch_jvp(program)
    if theirs is None:
        return
    ours = tl.func.jvp(
        lambda *xs: run(program, list(xs), "tl")[0],
        tuple(tl.tensor(a.copy()) for a in arrays),
        tuple(tl.tensor(v) for v in tangents),
    )
    for t, o in zip(theirs, ours):
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(force=True), rtol=1e-6, atol=1e-8, equal_nan=True)


def _flat(r):
    return [leaf for x in r for leaf in _flat(x)] if isinstance(r, (tuple, list)) else [r]


def _twin_mlps(n=1, seed=0):
    """``n`` small float64 MLPs here and their copies in PyTorch (the same weights)."""
    ours, theirs = [], []
    for k in range(n):
        tl.manual_seed(seed + k)
        m = tl.nn.Sequential(tl.nn.Linear(3, 5, dtype=np.float64), tl.nn.Tanh(), tl.nn.Linear(5, 4, dtype=np.float64))
        t = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 4)).double()
        with torch.no_grad():
            for name, p in t.named_parameters():
                p.copy_(torch.tensor(m.get_parameter(name).data))
        ours.append(m)
        theirs.append(t)
    return ours, theirs


def test_per_sample_gradients_over_a_dict_of_parameters_as_the_torch_func_tutorial():
    """PyTorch's per-sample-gradients tutorial: ``vmap(grad(compute_loss), in_dims=(None, None, 0, 0))``
    over ``(params, buffers, data, targets)``, params a dict. grad refused a dict ("must be Tensors")."""
    (m,), (t,) = _twin_mlps()
    rng = np.random.default_rng(0)
    data, targets = rng.standard_normal((6, 3)), rng.integers(0, 4, 6)

    def per_sample(lib, F, model):
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def compute_loss(params, buffers, sample, target):
            out = F.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(out, target.unsqueeze(0))

        return F.vmap(F.grad(compute_loss), in_dims=(None, None, 0, 0))(
            params, buffers, lib.tensor(data), lib.tensor(targets)
        )

    ours, theirs = per_sample(tl, tl.func, m), per_sample(torch, torch.func, t)
    assert list(ours) == list(theirs)
    for name in theirs:
        assert ours[name].shape == tuple(theirs[name].shape)
        np.testing.assert_allclose(ours[name].numpy(), theirs[name].numpy(), rtol=1e-12, atol=1e-15)


def test_an_ensemble_by_stack_module_state_and_vmap_as_the_torch_func_tutorial():
    ours, theirs = _twin_mlps(3, seed=10)
    x = np.random.default_rng(1).standard_normal((2, 3))

    def ensemble(lib, F, models):
        params, buffers = F.stack_module_state(models)
        base = models[0]
        out = F.vmap(lambda p, b, x: F.functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))(
            params, buffers, lib.tensor(x)
        )
        grads = lib.autograd.grad(out.sum(), list(params.values()))
        return [out, *grads]

    for o, t in zip(ensemble(tl, tl.func, ours), ensemble(torch, torch.func, theirs)):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12)


def test_grad_with_respect_to_tuples_and_dicts_keeps_their_structure():
    x, y = tl.tensor(X), tl.tensor(X * 2)
    g = tl.func.grad(lambda p: (p["a"] * p["b"][0] ** 2).sum())({"a": x, "b": (y,)})
    tg = torch.func.grad(lambda p: (p["a"] * p["b"][0] ** 2).sum())({"a": torch.tensor(X), "b": (torch.tensor(X * 2),)})
    assert set(g) == {"a", "b"} and isinstance(g["b"], tuple)
    np.testing.assert_allclose(g["a"].numpy(), tg["a"].numpy())
    np.testing.assert_allclose(g["b"][0].numpy(), tg["b"][0].numpy())
    with pytest.raises(ValueError, match="functional_call: 'weight' appears in more than one of the mappings"):
        lin = tl.nn.Linear(3, 1)
        tl.func.functional_call(lin, ({"weight": lin.weight}, {"weight": lin.weight}), (tl.ones(1, 3),))


@pytest.mark.parametrize("how", ["jacrev", "jacfwd", "vjp"])
def test_jacobians_and_vjps_over_a_dict_of_parameters_as_the_neural_tangent_kernel_tutorial(how):
    """The NTK tutorial's ``vmap(jacrev(fnet_single), (None, 0))(params, x)`` (and jacfwd, and its
    vjp variant) with params a dict: one Jacobian per parameter, batched. jacrev refused the dict."""
    (m,), (t,) = _twin_mlps()
    x = np.random.default_rng(2).standard_normal((4, 3))
    cotangent = np.random.default_rng(3).standard_normal(4)

    def run(lib, F, model):
        params = {k: v.detach() for k, v in model.named_parameters()}

        def fnet_single(params, x):
            return F.functional_call(model, params, (x.unsqueeze(0),)).squeeze(0)

        if how == "vjp":
            out, vjp_fn = F.vjp(lambda p: fnet_single(p, lib.tensor(x[0])), params)
            (found,) = vjp_fn(lib.tensor(cotangent))
            return {"out": out, **found}
        return F.vmap(getattr(F, how)(fnet_single), (None, 0))(params, lib.tensor(x))

    ours, theirs = run(tl, tl.func, m), run(torch, torch.func, t)
    assert list(ours) == list(theirs)
    for name in theirs:
        np.testing.assert_allclose(ours[name].numpy(), theirs[name].detach().numpy(), rtol=1e-12, atol=1e-15)


def _jacobians_tutorial(lib, F):
    """The computations of torch.func's "Jacobians, Hessians, hvp, vhp, and more" tutorial."""
    rng = np.random.default_rng(0)
    weight, bias = lib.tensor(rng.standard_normal((6, 6))), lib.tensor(rng.standard_normal(6))
    x, xb = lib.tensor(rng.standard_normal(6)), lib.tensor(rng.standard_normal((4, 6)))

    def predict(weight, bias, x):
        return lib.nn.functional.linear(x, weight, bias).tanh()

    out = {
        "jacrev": F.jacrev(predict, argnums=2)(weight, bias, x),
        "jacfwd": F.jacfwd(predict, argnums=2)(weight, bias, x),
        "jacrev of weight and bias": F.jacrev(predict, argnums=(0, 1))(weight, bias, x),
        "hessian of a vector function": F.hessian(predict, argnums=2)(weight, bias, x),
        "jacrev of jacrev": F.jacrev(F.jacrev(predict, argnums=2), argnums=2)(weight, bias, x),
        "batch jacobian": F.vmap(F.jacrev(predict, argnums=2), in_dims=(None, None, 0))(weight, bias, xb),
        "batch jacobian by a sum": F.jacrev(lambda w, b, x: predict(w, b, x).sum(0), argnums=2)(weight, bias, xb),
        "batch hessian": F.vmap(F.hessian(predict, argnums=2), in_dims=(None, None, 0))(weight, bias, xb),
        "hvp by jvp of grad": F.jvp(F.grad(lambda x: x.sin().sum()), (x,), (xb[0],))[1],
    }
    return {k: [v] if isinstance(v, lib.Tensor) else list(v) for k, v in out.items()}


def test_the_jacobians_and_hessians_tutorial_as_pytorch():
    """hessian of a function with a vector output was refused ("must return a single-element
    tensor"): torch.func.hessian is jacfwd(jacrev(f)), of any output shape."""
    ours, theirs = _jacobians_tutorial(tl, tl.func), _jacobians_tutorial(torch, torch.func)
    for name in theirs:
        for o, t in zip(ours[name], theirs[name]):
            assert o.shape == tuple(t.shape), name
            np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("randomness", ["error", "same", "different"])
def test_vmap_randomness_as_pytorchs(randomness):
    """Dropout inside vmap: PyTorch refuses it by default ('error'), draws one mask for every row
    ('same') or one per row ('different'). The loop drew one per row whatever was asked: under
    'error' it computed what PyTorch refuses, under 'same' it gave other masks than PyTorch's rule."""

    def rows_of(lib):
        f = lib.func.vmap(lambda row: lib.nn.functional.dropout(row, 0.5, training=True), randomness=randomness)
        return f(lib.ones(6, 40)).tolist()

    if randomness == "error":
        for lib in (tl, torch):
            with pytest.raises(RuntimeError, match="randomness"):
                rows_of(lib)
        tl.manual_seed(3)
        before = tl.randn(2).tolist()
        tl.manual_seed(3)
        with pytest.raises(RuntimeError, match="generators are back where they were"):
            rows_of(tl)
        assert tl.randn(2).tolist() == before
        return
    for rows in (rows_of(tl), rows_of(torch)):
        same = all(r == rows[0] for r in rows)
        assert same == (randomness == "same")


def test_hessian_over_a_dict_of_parameters_and_a_jacobian_of_a_dict_output_as_pytorch():
    """``hessian(loss)(params)`` with params a dict gives PyTorch's dict of dicts; a function returning a
    dict has a Jacobian per output entry. Both were refused ("outputs must be tensors, got dict")."""
    (m,), (t,) = _twin_mlps()
    x = np.random.default_rng(0).standard_normal((2, 3))

    def run(lib, F, model):
        params = {k: v.detach() for k, v in model.named_parameters()}
        hessian = F.hessian(lambda p: (F.functional_call(model, p, (lib.tensor(x),)) ** 2).sum())(params)
        jacobian = F.jacrev(
            lambda p: {"out": F.functional_call(model, p, (lib.tensor(x),)), "n": (p["0.weight"] ** 2).sum()}
        )(params)
        return hessian, jacobian

    for ours, theirs in zip(run(tl, tl.func, m), run(torch, torch.func, t)):
        assert list(ours) == list(theirs)
        for a in theirs:
            assert list(ours[a]) == list(theirs[a])
            for b in theirs[a]:
                np.testing.assert_allclose(ours[a][b].numpy(), theirs[a][b].detach().numpy(), rtol=1e-12, atol=1e-15)


def test_jvp_over_a_dict_of_parameters_as_pytorch():
    (m,), (t,) = _twin_mlps()
    x = np.random.default_rng(0).standard_normal((2, 3))
    directions = {k: np.random.default_rng(1).standard_normal(p.shape) for k, p in m.named_parameters()}

    def run(lib, F, model):
        params = {k: v.detach() for k, v in model.named_parameters()}
        tangents = {k: lib.tensor(v) for k, v in directions.items()}
        return F.jvp(lambda p: {"y": F.functional_call(model, p, (lib.tensor(x),))}, (params,), (tangents,))

    (out, tangent), (their_out, their_tangent) = run(tl, tl.func, m), run(torch, torch.func, t)
    np.testing.assert_allclose(out["y"].numpy(), their_out["y"].detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(tangent["y"].numpy(), their_tangent["y"].detach().numpy(), rtol=1e-12, atol=1e-15)


def test_per_sample_gradients_of_an_lstm_against_pytorchs_loop():
    """``vmap(grad(loss))`` over an LSTM's parameters, one gradient per sequence: PyTorch's vmap refuses
    its fused LSTM (a batching rule's shape error), so the reference is PyTorch's loop over samples."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 5, 3)), rng.standard_normal((4, 2))
    tl.manual_seed(0)
    ours = tl.nn.LSTM(3, 2, batch_first=True, dtype=np.float64)
    theirs = torch.nn.LSTM(3, 2, batch_first=True).double()
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.tensor(ours.get_parameter(name).data))

    def loss(params, xi, yi):
        _, (h, _) = tl.func.functional_call(ours, params, (xi.unsqueeze(0),))
        return ((h[-1, 0] - yi) ** 2).sum()

    params = {k: v.detach() for k, v in ours.named_parameters()}
    per_sample = tl.func.vmap(tl.func.grad(loss), in_dims=(None, 0, 0))(params, tl.tensor(x), tl.tensor(y))
    for i in range(len(x)):
        theirs.zero_grad()
        _, (h, _) = theirs(torch.tensor(x[i : i + 1]))
        ((h[-1, 0] - torch.tensor(y[i])) ** 2).sum().backward()
        for name, p in theirs.named_parameters():
            np.testing.assert_allclose(per_sample[name].numpy()[i], p.grad.numpy(), rtol=1e-12, atol=1e-15)
