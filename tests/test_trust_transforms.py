"""Transforms, double backward, checkpoint and tl.Function where PyTorch computes (issue 26, section 5).

Every expectation comes from PyTorch 2.x in float64: the same calls, the same flags, and the same
answer to "does it raise?" both ways.
"""

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch")
AF = torch.autograd.functional
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
F, TF = tl.nn.functional, torch.nn.functional

A = np.array([0.7, -0.4, 1.3])
B = np.array([-0.9, 0.2])
V_OUT = np.array([0.5, -1.5, 2.0])
V_IN = (np.array([1.0, -2.0, 0.5]), np.array([0.25, -0.75]))


def flat(value) -> list:
    """The tensors of a nested result, in order."""
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flat(v)]
    return [value]


def outcome(call, *args):
    """("ok", the result's tensors) or ("raises", the exception's type) of ``call(*args)``."""
    try:
        return "ok", flat(call(*args))
    except (RuntimeError, NotImplementedError, ValueError, TypeError) as e:
        return "raises", type(e)


def agree(mine, theirs, where: str, same_requires_grad: bool = True) -> None:
    assert mine[0] == theirs[0], f"{where}: tl {mine} but torch {theirs}"
    if mine[0] == "raises":
        assert mine[1] is theirs[1], f"{where}: tl raises {mine[1].__name__}, torch {theirs[1].__name__}"
        return
    assert len(mine[1]) == len(theirs[1]), where
    for k, (m, t) in enumerate(zip(mine[1], theirs[1])):
        assert m.shape == tuple(t.shape), f"{where}, tensor {k}: shape {m.shape} vs {tuple(t.shape)}"
        expected = t.detach().numpy(force=True)
        np.testing.assert_allclose(m.data, expected, rtol=1e-9, atol=1e-12, err_msg=f"{where}, tensor {k}")
        if same_requires_grad:
            assert m.requires_grad == t.requires_grad, f"{where}, tensor {k}: requires_grad {m.requires_grad}"


# ---- 1 and 3: transforms of functions that do not depend on an input, or not twice ----------------

FUNCTIONS = {  # written once for both libraries; each returns a vector of A's shape
    "uses_both": lambda a, b: a.tanh() * b.sum() + a * a * a,
    "independent_of_b": lambda a, b: a.exp(),
    "detached": lambda a, b: a.detach().exp() * b.detach().sum(),
    "a_detached": lambda a, b: a.detach() * b.sum(),
    "linear": lambda a, b: a * 3.0 + b.sum(),
    "quadratic": lambda a, b: a * a * 0.5 + b.sum(),
    "constant": lambda a, b: a.detach() * 0.0 + 1.0,
    "piecewise_linear": lambda a, b: a.relu() * 2.0 + b.abs().sum(),
}


def scalar(f):
    return lambda a, b: f(a, b).sum()


TRANSFORMS = {  # lib is tl or torch.autograd.functional, T makes a tensor
    "vjp": lambda lib, f, xs, T, cg, strict: lib.vjp(f, xs, T(V_OUT), create_graph=cg, strict=strict),
    "jvp": lambda lib, f, xs, T, cg, strict: lib.jvp(f, xs, tuple(map(T, V_IN)), create_graph=cg, strict=strict),
    "jacobian": lambda lib, f, xs, T, cg, strict: lib.jacobian(f, xs, create_graph=cg, strict=strict),
    "jacobian_vectorized": lambda lib, f, xs, T, cg, strict: lib.jacobian(
        f, xs, create_graph=cg, strict=strict, vectorize=True
    ),
    "jacobian_forward": lambda lib, f, xs, T, cg, strict: lib.jacobian(
        f, xs, create_graph=cg, strict=strict, vectorize=True, strategy="forward-mode"
    ),
    "jacobian_forward_unvectorized": lambda lib, f, xs, T, cg, strict: lib.jacobian(
        f, xs, create_graph=cg, strict=strict, strategy="forward-mode"
    ),
    "hessian": lambda lib, f, xs, T, cg, strict: lib.hessian(scalar(f), xs, create_graph=cg, strict=strict),
    "hessian_vectorized": lambda lib, f, xs, T, cg, strict: lib.hessian(
        scalar(f), xs, create_graph=cg, strict=strict, vectorize=True
    ),
    "hessian_forward": lambda lib, f, xs, T, cg, strict: lib.hessian(
        scalar(f), xs, create_graph=cg, strict=strict, vectorize=True, outer_jacobian_strategy="forward-mode"
    ),
    "hessian_forward_unvectorized": lambda lib, f, xs, T, cg, strict: lib.hessian(
        scalar(f), xs, create_graph=cg, strict=strict, outer_jacobian_strategy="forward-mode"
    ),
    "hvp": lambda lib, f, xs, T, cg, strict: lib.hvp(
        scalar(f), xs, tuple(map(T, V_IN)), create_graph=cg, strict=strict
    ),
}


def _tl_tensor(a):
    return tl.tensor(a)


def _torch_tensor(a):
    return torch.tensor(a)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_results_and_refusals_equal_pytorchs_for_every_flag(name, transform):
    f, run = FUNCTIONS[name], TRANSFORMS[transform]
    for strict in (False, True):
        for create_graph in (False, True):
            for grad_off in (False, True):
                # a requires grad (create_graph keeps results connected to it), b does not
                mine = (tl.tensor(A, requires_grad=True), tl.tensor(B))
                theirs = (torch.tensor(A, requires_grad=True), torch.tensor(B))
                with tl.set_grad_enabled(not grad_off):
                    got = outcome(run, tl, f, mine, _tl_tensor, create_graph, strict)
                with torch.set_grad_enabled(not grad_off):
                    expected = outcome(run, AF, f, theirs, _torch_tensor, create_graph, strict)
                where = f"{transform} of {name}, strict={strict}, create_graph={create_graph}, no_grad={grad_off}"
                # PyTorch's vectorized and forward-mode results are on the tape or not as an effect of
                # batching (a zero block is a slice of a connected one) and dual tensors; here they
                # follow the unvectorized rule, so only the values and the refusals are compared
                batched = "vectorized" in transform or "forward" in transform
                agree(got, expected, where, same_requires_grad=not batched)


def test_the_example_of_the_issue_and_bad_strategies():
    x = tl.tensor(np.array([1.0, 2.0]))
    with tl.no_grad():
        _, g = tl.vjp(lambda x: x.detach() * 2, x, tl.tensor(np.ones(2)))
        h = tl.hessian(lambda x: (x * 3).sum(), x)
        assert not tl.is_grad_enabled()  # the transforms leave the caller's mode as it was
    assert g.tolist() == [0.0, 0.0] and h.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match="jacobian: strategy must be"):
        tl.jacobian(lambda x: x, x, strategy="sideways")
    with pytest.raises(ValueError, match="hessian: outer_jacobian_strategy must be"):
        tl.hessian(lambda x: x.sum(), x, outer_jacobian_strategy="sideways")
    with pytest.raises(NotImplementedError, match="vectorize=True"):
        tl.hessian(lambda x: x.sum(), x, outer_jacobian_strategy="forward-mode")


def test_create_graph_under_no_grad_still_records_as_in_pytorch():
    x, xt = tl.tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    loss, loss_t = (x**3).sum(), (xt**3).sum()
    with tl.no_grad():
        (g,) = tl.grad(loss, x, create_graph=True)
    with torch.no_grad():
        (gt,) = torch.autograd.grad(loss_t, xt, create_graph=True)
    assert g.requires_grad and gt.requires_grad
    np.testing.assert_allclose(tl.grad(g.sum(), x)[0].data, torch.autograd.grad(gt.sum(), xt)[0].numpy(), rtol=1e-12)


# ---- 2: second derivatives through ops whose first derivative is piecewise constant --------------

X = np.array([-1.5, -1.0, -0.2, 0.0, 0.3, 1.0, 2.0])
PIECEWISE = {  # name: (tl function, torch function); ends, zeros and ties included on purpose
    "relu": (lambda x: x.relu(), lambda x: x.relu()),
    "abs": (lambda x: x.abs(), lambda x: x.abs()),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    "hardtanh": (lambda x: F.hardtanh(x), lambda x: TF.hardtanh(x)),
    "hardtanh_narrow": (lambda x: F.hardtanh(x, -0.2, 0.3), lambda x: TF.hardtanh(x, -0.2, 0.3)),
    "clip": (lambda x: x.clip(-1.0, 1.0), lambda x: x.clamp(-1.0, 1.0)),
    "clip_below": (lambda x: x.clip(0.0), lambda x: x.clamp(min=0.0)),
    "sign": (lambda x: x.sign(), lambda x: x.sign()),
    "max": (lambda x: x.max(), lambda x: x.max()),
    "min": (lambda x: x.min(), lambda x: x.min()),
    "max_axis": (lambda x: x.reshape(1, 7).max(axis=1), lambda x: x.reshape(1, 7).amax(dim=1)),
    "min_axis": (lambda x: x.reshape(1, 7).min(axis=1), lambda x: x.reshape(1, 7).amin(dim=1)),
    "maximum": (lambda x: tl.maximum(x, x * 0.5), lambda x: torch.maximum(x, x * 0.5)),
    "minimum_constant": (lambda x: tl.minimum(x, 0.25), lambda x: torch.minimum(x, torch.tensor(0.25))),
    "where": (lambda x: tl.where(x.data > 0, x, x * 2.0), lambda x: torch.where(x > 0, x, x * 2.0)),
    "norm_inf": (lambda x: x.norm(float("inf")), lambda x: torch.linalg.vector_norm(x, float("inf"))),
    "norm_1": (lambda x: x.norm(1), lambda x: torch.linalg.vector_norm(x, 1)),
    "relu_times_x": (lambda x: x.relu() * x, lambda x: x.relu() * x),  # a nonzero second derivative
    "abs_of_tanh": (lambda x: x.tanh().abs(), lambda x: x.tanh().abs()),
    "leaky_relu_of_square": (lambda x: F.leaky_relu(x * x - 1.0, 0.2), lambda x: TF.leaky_relu(x * x - 1.0, 0.2)),
}


def second_order(grad, x, f, seed):
    """(g, what differentiating g.sum() again gives): g = d(f(x) . seed)/dx with create_graph."""
    out = f(x)
    (g,) = grad(out, x, seed(out), create_graph=True)
    try:
        (h,) = grad(g.sum(), x)
        return g, ("ok", h)
    except RuntimeError:
        return g, ("raises", None)


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")  # relu(x) * x, as torch
@pytest.mark.parametrize("seed_inf", [False, True])
def test_second_derivatives_through_piecewise_ops_equal_pytorchs(seed_inf):
    for name, (mine, theirs) in PIECEWISE.items():
        x, xt = tl.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)

        def seed(out, T):
            s = np.full(out.shape, 2.0)
            if seed_inf and s.size > 1:
                s.reshape(-1)[0] = np.inf  # where the gradient is cut: 0 * inf must not make a nan
            return T(s)

        g, h = second_order(tl.grad, x, mine, lambda o: seed(o, tl.tensor))
        gt, ht = second_order(torch.autograd.grad, xt, theirs, lambda o: seed(o, torch.tensor))
        np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-12, err_msg=name)
        assert g.requires_grad == gt.requires_grad, name
        assert h[0] == ht[0], f"{name}: tl {h[0]}, torch {ht[0]}"
        if h[0] == "ok":
            # (nan where PyTorch has nan too, as relu(x) * x multiplying an inf gradient by 0: no other)
            np.testing.assert_allclose(h[1].data, ht[1].detach().numpy(force=True), rtol=1e-12, err_msg=name)


def test_a_gradient_penalty_through_relu_layers_equals_pytorchs():
    rng = np.random.default_rng(0)
    w1, w2, xs = rng.standard_normal((4, 3)), rng.standard_normal((1, 4)), rng.standard_normal((5, 3))
    mine = [tl.tensor(a, requires_grad=True) for a in (w1, w2, xs)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (w1, w2, xs)]

    def penalty(grad, w1, w2, x, leaky):
        h = x @ w1.T
        h = leaky(h) if leaky else h.relu()
        (g,) = grad((h @ w2.T).sum(), x, create_graph=True)
        return ((g * g).sum(axis=1) - 1.0).abs().sum()

    for leaky in (None, "leaky"):
        p = penalty(tl.grad, *mine, leaky and (lambda h: F.leaky_relu(h, 0.2)))
        pt = penalty(lambda *a, **k: torch.autograd.grad(*a, **k), *theirs, leaky and (lambda h: TF.leaky_relu(h, 0.2)))
        for got, expected in zip(tl.grad(p, mine), torch.autograd.grad(pt, theirs)):
            np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10)


# ---- 4: checkpoints inside checkpoints ------------------------------------------------------------


def nested_loss(lib, checkpoint, x, w, depth: int, dropout: bool = False):
    """Cells tanh(h W) W under ``depth`` levels of nested checkpoints, then a checkpoint whose last
    op lies in the checkpoint nested in it."""

    def cell(h):
        h = (h @ w).tanh() @ w.T
        return lib.nn.functional.dropout(h, 0.3, True) if dropout else h

    def level(k):
        if k == depth:
            return lambda h: cell(cell(h)).sin()
        inner = level(k + 1)
        return lambda h: checkpoint(inner, cell(h)) * 1.5

    h = level(0)(x)
    last = (lambda h: checkpoint(cell, h)) if depth else cell
    h = checkpoint(last, h) if depth else last(h)
    return (h * h).sum()


def tl_checkpoint(fn, *args):
    return tl.checkpoint(fn, *args)


def no_checkpoint(fn, *args):
    return fn(*args)


def torch_checkpoint(fn, *args):
    return torch.utils.checkpoint.checkpoint(fn, *args, use_reentrant=False)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_nested_checkpoints_give_pytorchs_gradients_twice_with_retain_graph(depth):
    rng = np.random.default_rng(depth)
    xs, ws = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)) * 0.5
    x, w = tl.tensor(xs, requires_grad=True), tl.tensor(ws, requires_grad=True)
    xt, wt = torch.tensor(xs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    loss = nested_loss(tl, tl_checkpoint, x, w, depth)
    loss_t = nested_loss(torch, torch_checkpoint, xt, wt, depth)
    for _ in range(2):  # the second backward recomputes nothing it still holds, and sums the same again
        loss.backward(retain_graph=True)
        loss_t.backward(retain_graph=True)
        for mine, theirs in ((x, xt), (w, wt)):
            np.testing.assert_allclose(mine.grad.data, theirs.grad.numpy(), rtol=1e-10)
    loss = nested_loss(tl, tl_checkpoint, x, w, depth)
    plain = nested_loss(tl, no_checkpoint, x, w, depth)
    for got, expected in zip(tl.grad(loss, [x, w]), tl.grad(plain, [x, w])):
        np.testing.assert_array_equal(got.data, expected.data)  # the same entries in the same order: same bits


def test_nested_checkpoints_draw_the_same_dropout_and_free_their_arrays():
    rng = np.random.default_rng(4)
    x = tl.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = tl.tensor(rng.standard_normal((3, 4)) * 0.5, requires_grad=True)
    tl.manual_seed(3)
    with tl.Tape() as plain:
        expected = nested_loss(tl, no_checkpoint, x, w, 2, dropout=True)
    everything = sum(e.saved_nbytes for e in plain.entries)
    expected = tl.grad(expected, [x, w])
    tl.manual_seed(3)
    with tl.Tape() as tape:
        loss = nested_loss(tl, tl_checkpoint, x, w, 2, dropout=True)
    kept = sum(e.saved_nbytes for e in tape.entries)
    assert kept < everything / 3, (kept, everything)  # the segments' arguments, not every cell's arrays
    for got, want in zip(tl.grad(loss, [x, w]), expected):
        np.testing.assert_array_equal(got.data, want.data)
    with pytest.raises(RuntimeError, match="freed by an earlier backward"):
        loss.backward()


# ---- 5: tl.Function with several outputs --------------------------------------------------------


def sin_cos(base, seen: list, materialize: bool = True, c_differentiable: bool = True):
    """(sin(x) * y, cos(x), argmax(x)) as one Function of ``base`` (tl.Function or torch's), written
    once for both; ``seen`` collects which gradients backward got as None."""

    class SinCos(base):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            ctx.set_materialize_grads(materialize)
            s, c, top = x.sin() * y, x.cos(), x.argmax()
            ctx.mark_non_differentiable(top, *(() if c_differentiable else (c,)))
            return s, c, top

        @staticmethod
        def backward(ctx, g_s, g_c, g_top):
            seen.append(tuple(g is None for g in (g_s, g_c, g_top)))
            x, y = ctx.saved_tensors
            gx = 0.0
            if g_s is not None:
                gx = gx + g_s * y * x.cos()
            if g_c is not None:
                gx = gx - g_c * x.sin()
            return gx, (g_s * x.sin() if g_s is not None else None)

    return SinCos


USES = {  # which outputs the loss reads
    "both": lambda s, c, w: (s * w).sum() + (c * c).sum(),
    "first": lambda s, c, w: (s * w).sum(),
    "second": lambda s, c, w: (c * c * w).sum(),
}


@pytest.mark.parametrize("use", USES)
def test_several_outputs_give_pytorchs_gradients_and_what_backward_receives(use):
    rng = np.random.default_rng(5)
    xs, ys, ws = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4)
    for materialize in (True, False):
        for c_differentiable in (True, False):
            seen, seen_t = [], []
            mine = sin_cos(tl.Function, seen, materialize, c_differentiable)
            theirs = sin_cos(torch.autograd.Function, seen_t, materialize, c_differentiable)
            x, y = tl.tensor(xs, requires_grad=True), tl.tensor(ys, requires_grad=True)
            xt, yt = torch.tensor(xs, requires_grad=True), torch.tensor(ys, requires_grad=True)
            outs, outs_t = mine.apply(x, y), theirs.apply(xt, yt)
            where = f"{use}, materialize={materialize}, c_differentiable={c_differentiable}"
            assert [o.requires_grad for o in outs] == [o.requires_grad for o in outs_t], where
            for o, t in zip(outs, outs_t):
                np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=1e-15, err_msg=where)
            loss, loss_t = USES[use](*outs[:2], tl.tensor(ws)), USES[use](*outs_t[:2], torch.tensor(ws))
            if not loss_t.requires_grad:  # only the non-differentiable output was read
                assert not loss.requires_grad, where
                continue
            loss.backward()
            loss_t.backward()
            assert seen == seen_t, where
            for mine_t, theirs_t in ((x, xt), (y, yt)):
                if theirs_t.grad is None:
                    assert mine_t.grad is None, where
                else:
                    np.testing.assert_allclose(mine_t.grad.data, theirs_t.grad.numpy(), rtol=1e-12, err_msg=where)


def test_several_outputs_in_the_listing_the_trace_gradcheck_and_second_order():
    seen = []
    f = sin_cos(tl.Function, seen)
    rng = np.random.default_rng(6)
    x = tl.tensor(rng.standard_normal(3), requires_grad=True).named("x")
    y = tl.tensor(rng.standard_normal(3), requires_grad=True).named("y")
    with tl.Tape() as tape:
        s, c, top = f.apply(x, y)
        loss = (s * c).sum()
    listing = str(tape)
    assert "SinCos(x, y)" in listing and "SinCos[0](%0)" in listing and "SinCos[1](%0)" in listing, listing
    assert top.dtype.kind == "i" and not top.requires_grad
    with tl.trace_backward() as trace, tl.detect_anomaly():
        loss.backward(retain_graph=True)
    assert "SinCos" in str(trace)
    assert tl.gradcheck(lambda x, y: f.apply(x, y)[:2], (x, y))
    # the backward is written with tensor ops, so second derivatives go through it (and equal the composite's)
    second = []
    for get in (lambda x, y: f.apply(x, y)[:2], lambda x, y: ((x.sin() * y), x.cos())):
        s, c = get(x, y)
        (g,) = tl.grad((s * c).sum(), x, create_graph=True)
        second.append(tl.grad((g * g).sum(), x)[0].data)
    np.testing.assert_allclose(second[0], second[1], rtol=1e-12)
    assert tl.gradcheck(lambda x, y: tl.grad((f.apply(x, y)[0] * f.apply(x, y)[1]).sum(), x, create_graph=True)[0],
                        (x, y))  # fmt: skip


def test_once_differentiable_refuses_a_second_derivative_as_pytorch_does():
    def make(base, decorate):
        class Cube(base):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x * x

            @staticmethod
            @decorate
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3.0 * x * x

        return Cube

    mine = make(tl.Function, tl.once_differentiable)
    theirs = make(torch.autograd.Function, torch.autograd.function.once_differentiable)
    x, xt = tl.tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    for times_x in (False, True):  # the gradient reaching backward is a constant, or depends on x
        (g,) = tl.grad((mine.apply(x) * (x if times_x else 1.0)).sum(), x, create_graph=True)
        (gt,) = torch.autograd.grad((theirs.apply(xt) * (xt if times_x else 1.0)).sum(), xt, create_graph=True)
        np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-15)
        assert g.requires_grad == gt.requires_grad == times_x
        if not times_x:
            with pytest.raises(RuntimeError, match="does not require grad"):
                torch.autograd.grad(gt.sum(), xt)
            with pytest.raises(RuntimeError, match="does not require grad"):
                tl.grad(g.sum(), x)
            continue
        with pytest.raises(RuntimeError, match="marked with @once_differentiable"):
            gt.sum().backward()
        with pytest.raises(RuntimeError, match=r"Cube.backward is marked @once_differentiable"):
            g.sum().backward()
        # (PyTorch's autograd.grad skips the refusing node, and with it part of the derivative; here
        # every path is taken, so tl.grad refuses too rather than give a partial answer)
        (g,) = tl.grad((mine.apply(x) * x).sum(), x, create_graph=True)
        with pytest.raises(RuntimeError, match=r"Cube.backward is marked @once_differentiable"):
            tl.grad(g.sum(), x)
    (g,) = tl.grad(mine.apply(x).sum(), x)  # first order as usual
    np.testing.assert_allclose(g.data, 3 * A * A, rtol=1e-15)


def test_compile_refuses_a_function_with_several_outputs_by_name():
    f = sin_cos(tl.Function, [])
    y = tl.tensor(B[:1].repeat(3), requires_grad=True)
    step = tl.compile(lambda x: f.apply(x, y)[0].sum())
    with pytest.raises(tl.CompileError, match="SinCos"):
        step(tl.tensor(A))
