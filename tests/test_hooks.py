"""Tensor hooks, program by program against PyTorch: which gradient each hook sees, what it changes
upstream, in which order hooks and ``retain_grad`` run, and ``register_post_accumulate_grad_hook``.

Each program runs in PyTorch and here on x = [1, 2, 3] (float64); the gradient reaching x and the
log of what the hooks saw must be equal, or both must raise."""

import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch")


def _grad(L):
    return torch.autograd.grad if L is torch else tl.grad


def _log_value(log, value):
    log.append(value)
    return None


PROGRAMS = {
    "a leaf's hook doubles its gradient": lambda L, x, log: (
        x.register_hook(lambda g: (log.append(g), g * 2)[1]),
        (x * x).sum().backward(),
    ),
    "a leaf used twice: its hook sees the total once": lambda L, x, log: (
        x.register_hook(lambda g: _log_value(log, g)),
        (x * 3 + x * 5).sum().backward(),
    ),
    "a non-leaf's hook changes what flows upstream": lambda L, x, log: _nonleaf(
        x, lambda y: y.register_hook(lambda g: g * 10), lambda y: (y * y).sum()
    ),
    "two hooks run in the order registered": lambda L, x, log: _nonleaf(
        x,
        lambda y: (y.register_hook(lambda g: g + 1), y.register_hook(lambda g: (log.append(g), g * 3)[1])),
        lambda y: y.sum(),
    ),
    "retain_grad before a hook keeps the hooked gradient": lambda L, x, log: _nonleaf(
        x, lambda y: (y.retain_grad(), y.register_hook(lambda g: g * 10)), lambda y: y.sum(), log
    ),
    "retain_grad after a hook keeps the hooked gradient": lambda L, x, log: _nonleaf(
        x, lambda y: (y.register_hook(lambda g: g * 10), y.retain_grad()), lambda y: y.sum(), log
    ),
    "a removed hook does nothing": lambda L, x, log: _nonleaf(
        x, lambda y: y.register_hook(lambda g: g * 10).remove(), lambda y: y.sum()
    ),
    "a hook on the output scales the seed": lambda L, x, log: _nonleaf(
        x, lambda y: y.register_hook(lambda g: g * 7), lambda y: y.sum(), via=lambda z: z.sum()
    ),
    "a hook on an output given a gradient": lambda L, x, log: (
        (y := x * 2).register_hook(lambda g: (log.append(g), g * 7)[1]),
        y.backward(L.tensor([1.0, 0.0, 2.0], dtype=L.float64)),
    ),
    "a hook sees the sum of its tensor's two uses": lambda L, x, log: _nonleaf(
        x, lambda y: y.register_hook(lambda g: _log_value(log, g)), lambda y: y.sum() + (y * y).sum()
    ),
    "a leaf's hook under grad": lambda L, x, log: (
        x.register_hook(lambda g: g * 2),
        log.append(_grad(L)((x * x).sum(), x)[0]),
    ),
    "a non-leaf's hook under grad": lambda L, x, log: (
        (y := x * 3).register_hook(lambda g: g * 2),
        log.append(_grad(L)((y * y).sum(), x)[0]),
    ),
    "a hook that reads a tensor, under create_graph": lambda L, x, log: (
        (y := x * x).register_hook(lambda g: g * y),
        (g := _grad(L)(y.sum(), x, create_graph=True)[0]).sum().backward(),
        log.append(g),
    ),
    "a hook on a view": lambda L, x, log: (
        (v := (y := x * 1)[1:]).register_hook(lambda g: g * 10),
        (v.sum() + y.sum()).backward(),
    ),
    "hooks before and after an in-place change": lambda L, x, log: (
        (y := x * 1).register_hook(lambda g: (log.append("first"), g * 10)[1]),
        y.mul_(2),
        y.register_hook(lambda g: (log.append("second"), g + 1)[1]),
        y.sum().backward(),
    ),
    "a hook returning another shape": lambda L, x, log: _nonleaf(
        x, lambda y: y.register_hook(lambda g: g[:2]), lambda y: y.sum()
    ),
    "a leaf's hook on two backwards": lambda L, x, log: (
        x.register_hook(lambda g: g * 2),
        (x * x).sum().backward(),
        (x * 1).sum().backward(),
    ),
    "a hook on an unused tensor never runs": lambda L, x, log: (
        (x * 2).register_hook(lambda g: _log_value(log, "ran")),
        (x * 3).sum().backward(),
    ),
    "retain_grad over two backwards": lambda L, x, log: _twice_retained(x, log),
    "retain_grad on a leaf": lambda L, x, log: (x.retain_grad(), (x * 2).sum().backward()),
    "backward(inputs=) to a non-leaf": lambda L, x, log: (
        (y := x * 2).retain_grad(),
        (y * y).sum().backward(inputs=[y]),
        log.append(y.grad),
    ),
    "a hook changing its gradient in place": lambda L, x, log: _nonleaf(
        x, lambda y: y.register_hook(lambda g: g.mul_(3)), lambda y: (y * 1).sum()
    ),
    "post-accumulate: the hook sees .grad once it is complete": lambda L, x, log: (
        x.register_post_accumulate_grad_hook(lambda t: _log_value(log, t.grad * 1)),
        (x * x + x).sum().backward(),
        (x * 2).sum().backward(),
    ),
    "post-accumulate: hooks run in order after the tensor hook": lambda L, x, log: (
        x.register_hook(lambda g: (log.append("tensor hook"), g * 2)[1]),
        x.register_post_accumulate_grad_hook(lambda t: _log_value(log, "first")),
        x.register_post_accumulate_grad_hook(lambda t: _log_value(log, t.grad * 1)),
        (x * x).sum().backward(),
    ),
    "post-accumulate: not run by grad": lambda L, x, log: (
        x.register_post_accumulate_grad_hook(lambda t: _log_value(log, "ran")),
        log.append(_grad(L)((x * x).sum(), x)[0]),
    ),
    "post-accumulate: removed": lambda L, x, log: (
        x.register_post_accumulate_grad_hook(lambda t: _log_value(log, "ran")).remove(),
        (x * x).sum().backward(),
    ),
    "post-accumulate: on a non-leaf": lambda L, x, log: (x * 2).register_post_accumulate_grad_hook(lambda t: None),
    "post-accumulate: on a tensor without grad": lambda L, x, log: x.detach().register_post_accumulate_grad_hook(
        lambda t: None
    ),
    "post-accumulate: under create_graph": lambda L, x, log: (
        x.register_post_accumulate_grad_hook(lambda t: _log_value(log, t.grad * 1)),
        (x * x * x).sum().backward(create_graph=True),
    ),
}


def _nonleaf(x, hook, loss, log=None, via=None):
    y = x * 2
    hook(y)
    z = loss(y)
    (via(z) if via else z).backward()
    if log is not None:
        log.append(y.grad)


def _twice_retained(x, log):
    y = x * 2
    y.retain_grad()
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    log.append(y.grad)


def _as_list(value):
    if value is None or isinstance(value, str):
        return value
    return np.asarray(value.detach().numpy() if isinstance(value, torch.Tensor) else value.data).tolist()


def _run(L, program):
    log: list = []
    x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's note on backward(create_graph=True)
        try:
            program(L, x, log)
        except RuntimeError:
            return "raised", None
    return _as_list(x.grad), [_as_list(v) for v in log]


@pytest.mark.parametrize("name", PROGRAMS)
def test_hooks_see_and_change_what_pytorchs_do(name):
    theirs, ours = _run(torch, PROGRAMS[name]), _run(tl, PROGRAMS[name])
    assert ours[0] == "raised" if theirs[0] == "raised" else ours[0] != "raised", (name, theirs, ours)
    if theirs[0] != "raised":
        np.testing.assert_allclose(np.array(ours[0], dtype=float), np.array(theirs[0], dtype=float), rtol=1e-12)
        assert len(ours[1]) == len(theirs[1]), (ours[1], theirs[1])
        for a, b in zip(ours[1], theirs[1]):
            assert a == b if isinstance(b, str) or b is None else np.allclose(a, b, rtol=1e-12), (a, b)


def test_a_post_accumulate_hook_that_returns_a_value_is_refused():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda t: t.grad)
    with pytest.raises(RuntimeError, match="register_post_accumulate_grad_hook: the hook must return None"):
        (x * x).sum().backward()


@pytest.mark.parametrize("compiled", [False, True])
def test_an_optimizer_step_in_backward_as_pytorch_and_replayed(compiled):
    """The hook's use in PyTorch's tutorials: each parameter steps as soon as its gradient is complete."""

    def train(L, compile_it):
        gen = np.random.default_rng(0)
        w1 = L.tensor(gen.standard_normal((4, 3)), dtype=L.float64, requires_grad=True)
        w2 = L.tensor(gen.standard_normal((2, 4)), dtype=L.float64, requires_grad=True)
        x = L.tensor(gen.standard_normal((5, 3)), dtype=L.float64)

        def step(p):
            with L.no_grad():
                p -= 0.05 * p.grad
            p.grad = None

        for p in (w1, w2):
            p.register_post_accumulate_grad_hook(step)

        def loss_fn(x):
            return ((x @ w1.T).tanh() @ w2.T).pow(2).sum()

        f = tl.compile(loss_fn) if compile_it else loss_fn
        losses = []
        for _ in range(4):
            loss = f(x)
            loss.backward()
            losses.append(loss.item())
        return losses, [np.array(p.detach().numpy() if L is torch else p.data) for p in (w1, w2)]

    (theirs, theirs_w), (ours, ours_w) = train(torch, False), train(tl, compiled)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    for a, b in zip(ours_w, theirs_w):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def _hooked_then_changed(lib, view: bool):
    """A hook that scales the gradient, registered on y (or on a view of y), then that tensor changed
    in place: what the hook saw, and x's gradient."""
    x = lib.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 1.0
    hooked = y[1:] if view else y
    seen = []
    hooked.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    hooked.mul_(2.0)
    (y * y).sum().backward()
    return seen, x.grad.tolist()


def test_a_hook_registered_before_an_in_place_change_sees_the_gradient_of_the_old_values():
    """PyTorch's rule (autograd mechanics, "Behavior of Tensor hooks when Tensor is modified
    in-place"): a hook registered before the change receives the gradient with respect to the value
    before it. Here as in PyTorch for a tensor; for a view, PyTorch's hook is never called (its
    CopySlices node bypasses the view's old node), this engine's is called by that rule: a documented
    difference (README), pinned here."""
    assert _hooked_then_changed(tl, view=False) == _hooked_then_changed(torch, view=False)
    seen, grad = _hooked_then_changed(tl, view=True)
    theirs_seen, theirs_grad = _hooked_then_changed(torch, view=True)
    assert theirs_seen == []  # PyTorch: the view's hook does not run
    # here: d(sum(y_new ** 2)) / d(v_old) = 2 * y_new * 2 on the view's two elements, then scaled by 10
    assert seen == [[2 * 4.0 * 2, 2 * 6.0 * 2]] and grad == [2.0, 2 * 4.0 * 2 * 10, 2 * 6.0 * 2 * 10]
    assert theirs_grad == [2.0, 2 * 4.0 * 2, 2 * 6.0 * 2]


def _view_changed_then_watched(lib, how: str):
    """A view changed in place, the loss computed from its base: retain_grad before the change, or
    a hook registered after it. What the view's .grad is, what the hook saw, and x's gradient."""
    x = lib.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 1.0
    v = y[1:]
    seen = []
    if how == "retain_grad before":
        v.retain_grad()
    v.mul_(2.0)
    if how == "hook after":
        v.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    (y * y).sum().backward()
    return (None if v.grad is None else v.grad.tolist()), seen, x.grad.tolist()


@pytest.mark.parametrize("how", ["retain_grad before", "hook after"])
def test_a_view_changed_in_place_is_on_the_path_from_its_base_here_not_in_pytorch(how):
    """After ``v.mul_(2)`` the base's new value is computed from the view's new value here, so the
    view's gradient (and a hook on it) is the gradient with respect to it; PyTorch makes the view's new
    node a view of the base's and leaves it off the path (v.grad None, the hook not called). The same
    gradient reaches x without hooks; a documented difference (README), pinned here."""
    grad, seen, xgrad = _view_changed_then_watched(tl, how)
    their_grad, their_seen, their_xgrad = _view_changed_then_watched(torch, how)
    assert their_grad is None and their_seen == []
    d_v = [2 * 4.0, 2 * 6.0]  # d(sum(y ** 2)) / d(v) at v's new values 4 and 6
    if how == "retain_grad before":
        assert grad == d_v and xgrad == their_xgrad == [2.0, 2 * d_v[0], 2 * d_v[1]]
    else:
        assert seen == [d_v] and xgrad == [2.0, 2 * 10 * d_v[0], 2 * 10 * d_v[1]]
        assert their_xgrad == [2.0, 2 * d_v[0], 2 * d_v[1]]
