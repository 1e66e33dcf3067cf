"""The nn.Module API a PyTorch user reaches for, against PyTorch in float64: forward and full
backward hooks (what each hook sees, what it changes, their order), buffers in state_dict and in
tl.save, registration and casting; LayerNorm, Flatten and Unflatten.

Hook programs run the same code in PyTorch and here (``L`` is ``torch`` or ``tl``), on modules with
the same weights; the log of what the hooks saw, the gradients that reach the inputs and weights,
and any error must be equal."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import nn
from tinygrad_lstm.compiler import CompileError

from .helpers import close

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).standard_normal((4, 3))
SEQ = np.random.default_rng(1).standard_normal((5, 2, 3))
H0 = np.random.default_rng(2).standard_normal((1, 2, 4))
C0 = np.random.default_rng(3).standard_normal((1, 2, 4))


def _f64(L):
    return torch.float64 if L is torch else np.float64


def _tensor(L, data, requires_grad=False):
    if L is torch:
        return torch.tensor(data, dtype=torch.float64, requires_grad=requires_grad)
    return tl.Tensor(np.array(data, dtype=np.float64), requires_grad=requires_grad)


def _build(L, kind):
    d = _f64(L)
    if kind == "linear":
        return L.nn.Linear(3, 2, dtype=d)
    if kind == "sequential":
        return L.nn.Sequential(L.nn.Linear(3, 4, dtype=d), L.nn.Tanh(), L.nn.Linear(4, 2, dtype=d))
    if kind == "lstm":
        return L.nn.LSTM(3, 4, dtype=d)
    if kind == "gru":
        return L.nn.GRU(3, 4, dtype=d)
    raise AssertionError(kind)


def _twins(kind):
    """The module here and in PyTorch, with the same weights."""
    ours = _build(tl, kind)
    theirs = _build(torch, kind)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def _a(t):
    """What a hook saw, as arrays (None kept): the log both sides are compared by."""
    if t is None:
        return None
    if isinstance(t, (tuple, list)):
        return tuple(_a(v) for v in t)
    return t.detach().numpy().copy() if hasattr(t, "detach") and not isinstance(t, tl.Tensor) else t.data.copy()


def _logger(log, tag):
    def hook(module, grad_input, grad_output):
        log.append((tag, _a(grad_input), _a(grad_output)))

    return hook


def _pre_logger(log, tag):
    def hook(module, grad_output):
        log.append((tag, _a(grad_output)))

    return hook


# ---- backward hook programs: (L, module, log) -> (tensors whose .grad is compared) ----------------


def _linear_sees(L, m, log):
    m.register_full_backward_hook(_logger(log, "hook"))
    x = _tensor(L, X, True)
    (m(x) ** 2).sum().backward()
    return [x]


def _linear_doubles_grad_input(L, m, log):
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2,))
    x = _tensor(L, X, True)
    (m(x).tanh()).sum().backward()
    return [x]


def _linear_pre_hook_scales_grad_output(L, m, log):
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
    m.register_full_backward_hook(_logger(log, "after the pre-hook"))
    x = _tensor(L, X, True)
    (m(x) ** 2).sum().backward()
    return [x]


def _linear_input_needs_no_grad(L, m, log):
    m.register_full_backward_hook(_logger(log, "hook"))
    (m(_tensor(L, X)) ** 2).sum().backward()
    return []


def _hook_order_and_prepend(L, m, log):
    m.register_full_backward_hook(lambda mod, gi, go: (log.append(("first", _a(gi))), (gi[0] + 1,))[1])
    m.register_full_backward_hook(lambda mod, gi, go: (log.append(("second", _a(gi))), (gi[0] * 2,))[1])
    m.register_full_backward_hook(
        lambda mod, gi, go: (log.append(("prepended", _a(gi))), (gi[0] * 5,))[1], prepend=True
    )
    m.register_full_backward_pre_hook(lambda mod, go: (log.append(("pre", _a(go))), (go[0] * 7,))[1])
    m.register_full_backward_pre_hook(lambda mod, go: (log.append(("pre prepended", _a(go))), None)[1], prepend=True)
    x = _tensor(L, X, True)
    (m(x) ** 2).sum().backward()
    return [x]


def _sequential_and_its_children(L, m, log):
    m.register_full_backward_hook(_logger(log, "sequential"))
    for k, child in enumerate(m):
        child.register_full_backward_hook(_logger(log, f"child {k}"))
        child.register_full_backward_pre_hook(_pre_logger(log, f"child {k} pre"))
    m[1].register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0.5,))  # halves what flows into Linear 0
    x = _tensor(L, X, True)
    (m(x) ** 2).sum().backward()
    return [x]


def _output_used_twice(L, m, log):
    m.register_full_backward_hook(_logger(log, "hook"))
    x = _tensor(L, X, True)
    y = m(x)
    (y.sum() + (y * y).sum()).backward()
    return [x]


def _lstm_tuple_output(L, m, log):
    m.register_full_backward_hook(_logger(log, "hook"))
    m.register_full_backward_pre_hook(_pre_logger(log, "pre"))
    x, h0, c0 = _tensor(L, SEQ, True), _tensor(L, H0, True), _tensor(L, C0, True)
    out, (h, c) = m(x, (h0, c0))  # (h0, c0) is a tuple: not an input the hooks see
    (out.sum() + (h * h).sum()).backward()
    return [x, h0, c0]


def _lstm_loss_on_h_only_calls_no_hook(L, m, log):
    m.register_full_backward_hook(_logger(log, "hook"))
    m.register_full_backward_pre_hook(_pre_logger(log, "pre"))
    x = _tensor(L, SEQ, True)
    _, (h, _) = m(x)
    (h * h).sum().backward()  # (h, c) is nested: its gradient never passes the outputs' identity
    return [x]


def _lstm_hook_changes_grad_input(L, m, log):
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * -1, None))
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 3,))
    x = _tensor(L, SEQ, True)
    out, _ = m(x)
    (out * out).sum().backward()
    return [x]


def _gru_two_tensor_inputs(L, m, log):
    m.register_full_backward_hook(_logger(log, "hook"))
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[1] * 10))
    x, h0 = _tensor(L, SEQ, True), _tensor(L, H0, True)
    out, hn = m(x, h0)
    out.sum().backward()  # hn gets no gradient: its grad_output is None
    return [x, h0]


def _gru_hn_only(L, m, log):
    m.register_full_backward_hook(_logger(log, "hook"))
    x, h0 = _tensor(L, SEQ, True), _tensor(L, H0, True)
    _, hn = m(x, h0)
    (hn * hn).sum().backward()
    return [x, h0]


def _second_order_through_a_hooked_module(L, m, log):
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2,))
    x = _tensor(L, X, True)
    loss = (m(x).tanh() ** 2).sum()
    (gx,) = (torch.autograd.grad if L is torch else tl.grad)(loss, x, create_graph=True)
    (gx**2).sum().backward()
    return [x]


BACKWARD_PROGRAMS = {
    "Linear: the hook sees grad_input and grad_output": ("linear", _linear_sees),
    "Linear: a hook doubles grad_input": ("linear", _linear_doubles_grad_input),
    "Linear: a pre-hook scales grad_output (the weights' gradients too)": (
        "linear",
        _linear_pre_hook_scales_grad_output,
    ),
    "Linear: no input requires grad (grad_input is None)": ("linear", _linear_input_needs_no_grad),
    "several hooks: order, prepend, each gets the previous one's result": ("linear", _hook_order_and_prepend),
    "a Sequential and its children, inner hooks first": ("sequential", _sequential_and_its_children),
    "an output used twice: its gradient summed once": ("linear", _output_used_twice),
    "LSTM: tuple output, (h0, c0) is no hooked input": ("lstm", _lstm_tuple_output),
    "LSTM: a loss on h only calls no hook": ("lstm", _lstm_loss_on_h_only_calls_no_hook),
    "LSTM: pre-hook and hook change the gradient": ("lstm", _lstm_hook_changes_grad_input),
    "GRU: two Tensor inputs, hn reached by nothing": ("gru", _gru_two_tensor_inputs),
    "GRU: a loss on hn only": ("gru", _gru_hn_only),
    "second order through a hooked module": ("linear", _second_order_through_a_hooked_module),
}


def _same_log(ours, theirs, what=""):
    assert type(ours) is type(theirs) or ours is None or theirs is None, (what, ours, theirs)
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs), (what, len(ours), len(theirs))
        for k, (a, b) in enumerate(zip(ours, theirs)):
            _same_log(a, b, f"{what}[{k}]")
    elif isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), (what, ours)
        close(ours, theirs, what=what)
    else:
        assert ours == theirs, (what, ours, theirs)


@pytest.mark.parametrize("name", list(BACKWARD_PROGRAMS))
def test_backward_hooks_as_pytorch(name):
    kind, program = BACKWARD_PROGRAMS[name]
    ours, theirs = _twins(kind)
    logs = {}
    grads = {}
    for L, m in ((tl, ours), (torch, theirs)):
        log: list = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (both warn when no input requires grad)
            inputs = program(L, m, log)
        logs[L] = log
        grads[L] = [_a(t.grad) for t in inputs] + [_a(p.grad) for _, p in m.named_parameters()]
    if "calls no hook" in name:
        assert logs[torch] == []
    _same_log(logs[tl], logs[torch], "log")
    _same_log(grads[tl], grads[torch], "grads")


# ---- what PyTorch refuses, refused here too ---------------------------------------------------------


def _wrong_count(L, m):
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    (m(_tensor(L, X, True)) ** 2).sum().backward()


def _wrong_count_pre(L, m):
    m.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
    (m(_tensor(L, X, True)) ** 2).sum().backward()


def _gradient_without_inputs(L, m):
    m.register_full_backward_hook(lambda mod, gi, go: (_tensor(L, X),))
    (m(_tensor(L, X)) ** 2).sum().backward()


def _in_place_on_the_output(L, m):
    m.register_full_backward_hook(lambda mod, gi, go: None)
    y = m(_tensor(L, X, True))
    y.mul_(2)


def _in_place_on_the_input_inside_forward(L, m):
    class Inplace(L.nn.Module):
        def forward(self, x):
            return x.mul_(2)

    inplace = Inplace()
    inplace.register_full_backward_hook(lambda mod, gi, go: None)
    inplace(_tensor(L, X, True) * 1)


REFUSED = {
    "a hook returns two grad_inputs for one input": (_wrong_count, "backward hook"),
    "a pre-hook returns two grad_outputs for one output": (_wrong_count_pre, "backward hook"),
    "a hook returns a gradient though no input requires grad": (_gradient_without_inputs, "must return None"),
    "in-place on a hooked module's output": (_in_place_on_the_output, "modified in place"),
    "in-place on a hooked module's input inside forward": (_in_place_on_the_input_inside_forward, "modified in place"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_what_pytorch_refuses_is_refused_by_name(name):
    program, words = REFUSED[name]
    ours, theirs = _twins("linear")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError):
            program(torch, theirs)
        before = {k: v.copy() for k, v in ours.state_dict().items()}
        with pytest.raises(RuntimeError, match=words):
            program(tl, ours)
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_grad_input_shape_is_checked_by_name():
    lin = nn.Linear(3, 2, dtype=np.float64)
    lin.register_full_backward_hook(lambda mod, gi, go: (tl.zeros(5, dtype=np.float64),))
    with pytest.raises(RuntimeError, match=r"Linear: backward hook .*lambda.* returned \(5,\) as grad_input\[0\]"):
        lin(tl.Tensor(X, requires_grad=True)).sum().backward()


def test_inputs_that_need_no_grad_see_zeros_and_non_tensors_none():
    # PyTorch: a Tensor input that needs no gradient gets zeros; a non-Tensor argument None
    seen = {}
    for L in (tl, torch):

        class Mix(L.nn.Module):
            def forward(self, a, k, b):
                return a * b * k

        m = Mix()
        m.register_full_backward_hook(lambda mod, gi, go, L=L: seen.__setitem__(L, _a(gi)))
        m(_tensor(L, [1.0, 2.0], True), 3.0, _tensor(L, [4.0, 5.0])).sum().backward()
    _same_log(seen[tl], seen[torch])
    assert seen[tl][1] is None and not seen[tl][2].any()


def test_handles_remove_hooks():
    lin = nn.Linear(3, 2, dtype=np.float64)
    calls = []
    handles = [
        lin.register_forward_pre_hook(lambda m, a: calls.append("pre")),
        lin.register_forward_hook(lambda m, a, o: calls.append("post")),
        lin.register_full_backward_pre_hook(lambda m, go: calls.append("backward pre")),
        lin.register_full_backward_hook(lambda m, gi, go: calls.append("backward")),
    ]
    x = tl.Tensor(X, requires_grad=True)
    lin(x).sum().backward()
    assert calls == ["pre", "post", "backward pre", "backward"]
    for h in handles:
        h.remove()
        h.remove()  # twice: nothing happens
    calls.clear()
    lin(x).sum().backward()
    assert calls == []
    with lin.register_forward_hook(lambda m, a, o: calls.append("inside")):
        lin(x)
    lin(x)
    assert calls == ["inside"]


# ---- forward hooks, against PyTorch ------------------------------------------------------------------


def _forward_program(L):
    """Pre-hooks and hooks of every kind on a Linear, a global pair, and a failing forward."""
    log = []
    lin = L.nn.Linear(3, 2, dtype=_f64(L))
    lin.load_state_dict({"weight": _tensor(L, np.arange(6.0).reshape(2, 3) / 10), "bias": _tensor(L, [0.5, -0.5])})
    handles = [
        lin.register_forward_pre_hook(lambda m, args: (log.append(("pre", _a(args[0]))), args[0] * 2)[1]),
        lin.register_forward_pre_hook(lambda m, args: log.append(("pre prepended", _a(args[0]))), prepend=True),
        lin.register_forward_pre_hook(
            lambda m, args, kwargs: (log.append(("pre kwargs", sorted(kwargs))), ((args[0] + 1,), kwargs))[1],
            with_kwargs=True,
        ),
        lin.register_forward_hook(lambda m, args, out: (log.append(("hook", _a(out))), out * 10)[1]),
        lin.register_forward_hook(lambda m, args, out: log.append(("hook prepended", _a(out))), prepend=True),
        lin.register_forward_hook(
            lambda m, args, kwargs, out: log.append(("hook kwargs", _a(args[0]), sorted(kwargs), _a(out))),
            with_kwargs=True,
        ),
    ]
    modules = L.nn.modules.module if L is torch else L.nn
    handles.append(
        modules.register_module_forward_pre_hook(lambda m, args: log.append(("global pre", type(m).__name__)))
    )
    handles.append(modules.register_module_forward_hook(lambda m, args, out: log.append(("global", _a(out)))))
    handles.append(
        modules.register_module_forward_hook(
            lambda m, args, kwargs, out: log.append(("global kwargs", sorted(kwargs))), with_kwargs=True
        )
    )
    try:
        log.append(("result", _a(lin(_tensor(L, X[:2])))))
    finally:
        for h in handles:
            h.remove()
    log.append(("after remove", _a(lin(_tensor(L, X[:1])))))

    class Fails(L.nn.Module):
        def forward(self, x):
            raise ValueError("forward failed")

    fails = Fails()
    fails.register_forward_hook(lambda m, args, out: log.append(("always", out)), always_call=True)
    fails.register_forward_hook(lambda m, args, out: log.append(("not always", out)))
    try:
        fails(_tensor(L, X))
    except ValueError as e:
        log.append(("raised", str(e)))
    return log


def test_forward_hooks_as_pytorch():
    _same_log(_forward_program(tl), _forward_program(torch))


def test_global_backward_hooks_run_before_the_modules_own():
    logs: dict = {tl: [], torch: []}
    for L in (tl, torch):
        log = logs[L]
        lin = _build(L, "linear")
        modules = L.nn.modules.module if L is torch else L.nn
        h1 = modules.register_module_full_backward_hook(lambda m, gi, go, log=log: log.append("global"))
        h2 = modules.register_module_full_backward_pre_hook(lambda m, go, log=log: log.append("global pre"))
        lin.register_full_backward_hook(lambda m, gi, go, log=log: log.append("own"))
        lin.register_full_backward_pre_hook(lambda m, go, log=log: log.append("own pre"))
        try:
            lin(_tensor(L, X, True)).sum().backward()
        finally:
            h1.remove()
            h2.remove()
    assert logs[tl] == logs[torch] == ["global pre", "own pre", "global", "own"]


# ---- tl.compile ----------------------------------------------------------------------------------------


def test_compile_refuses_a_hooked_module_naming_the_hook_and_compiles_again_after_remove():
    lin = nn.Linear(3, 2, dtype=np.float64)
    step = tl.compile(lambda x: (lin(x) ** 2).sum())
    eager = (lin(tl.Tensor(X)) ** 2).sum().item()
    assert step(X).item() == eager

    def log_output(module, args, output):
        pass

    handle = lin.register_forward_hook(log_output)
    with pytest.raises(CompileError, match="the forward hook 'test_compile.*log_output' of Linear"):
        step(X)
    handle.remove()

    def scale(module, grad_input, grad_output):
        return (grad_input[0] * 2,)

    handle = lin.register_full_backward_hook(scale)
    with pytest.raises(CompileError, match="the backward hook .*scale' of Linear"):
        step(X)
    handle.remove()
    lin.weight.grad = None
    step(X).backward()
    step(X).backward()  # a replay
    w, b = lin.weight.data, lin.bias.data
    np.testing.assert_allclose(lin.weight.grad.data, 2 * 2 * ((X @ w.T + b).T @ X), rtol=1e-12)


# ---- buffers, registration, casting ---------------------------------------------------------------------


def _with_buffers(L):
    d = _f64(L)

    class Block(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = L.nn.Linear(2, 2, dtype=d)
            self.register_buffer("running", _tensor(L, [1.0, 2.0]))
            self.register_buffer("steps", L.zeros(3, dtype=torch.int64 if L is torch else np.int64))
            self.register_buffer("scratch", _tensor(L, [7.0]), persistent=False)
            self.register_buffer("empty", None)

    outer = L.nn.Sequential(Block(), L.nn.Linear(2, 1, dtype=d))
    outer.register_buffer("scale", _tensor(L, [3.0]))
    return outer


def test_buffers_and_state_dict_keys_as_pytorch():
    ours, theirs = _with_buffers(tl), _with_buffers(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_buffers(recurse=False)] == ["scale"]
    assert len(list(ours.buffers())) == 4
    assert ours.get_buffer("0.running") is ours[0].running
    with pytest.raises(AttributeError, match="no buffer '0.nothing'"):
        ours.get_buffer("0.nothing")
    # a PyTorch state_dict, buffers included, loads; the non-persistent one is not expected
    sd = {k: v + 1 for k, v in theirs.state_dict().items()}
    ours.load_state_dict(sd)
    close(ours[0].running, sd["0.running"])
    np.testing.assert_array_equal(ours[0].steps.data, [1, 1, 1])
    with pytest.raises(ValueError, match="unexpected keys: 0.scratch"):
        ours.load_state_dict({**ours.state_dict(), "0.scratch": np.zeros(1)})


def test_load_state_dict_missing_buffer_changes_nothing():
    ours = _with_buffers(tl)
    before = ours.state_dict()
    sd = {k: v * 0 for k, v in before.items() if k != "0.running"}
    with pytest.raises(ValueError, match="missing keys: 0.running"):
        ours.load_state_dict(sd)
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    bad = {**before, "0.running": np.zeros(3)}
    with pytest.raises(ValueError, match=r"0.running: shape \(3,\)"):
        ours.load_state_dict(bad)


def test_save_and_load_carry_buffers(tmp_path):
    ours = _with_buffers(tl)
    ours[0].running.data[...] = [5.0, 6.0]
    tl.save(ours.state_dict(), tmp_path / "m.npz")
    fresh = _with_buffers(tl)
    fresh.load_state_dict(tl.load(tmp_path / "m.npz"))
    np.testing.assert_array_equal(fresh[0].running.data, [5.0, 6.0])
    assert "0.scratch" not in tl.load(tmp_path / "m.npz")


def test_buffer_assignment_and_bad_buffers():
    m = nn.Linear(2, 2)
    m.register_buffer("mask", tl.ones(2))
    m.mask = tl.zeros(2)  # assigning a Tensor to a buffer's name replaces the buffer
    assert "mask" in dict(m.named_buffers()) and not m.mask.data.any()
    with pytest.raises(TypeError, match="cannot assign a list to the buffer 'mask'"):
        m.mask = [1.0, 2.0]
    with pytest.raises(TypeError, match="register_buffer: cannot register a ndarray as buffer 'x'"):
        m.register_buffer("x", np.zeros(2))
    with pytest.raises(KeyError, match="contain no '.'"):
        m.register_buffer("a.b", tl.ones(1))
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", tl.ones(1))
    assert list(m.state_dict()) == ["weight", "bias", "mask"]
    del m.mask
    assert list(m.named_buffers()) == []


def test_casting_buffers_as_pytorch():
    for method, arg in (("double", ()), ("float", ()), ("half", ()), ("type", (np.float32,))):
        ours, theirs = _with_buffers(tl), _with_buffers(torch)
        getattr(ours, method)(*arg)
        getattr(theirs, method)(*((torch.float32,) if arg else ()))
        got = {k: str(b.dtype) for k, b in ours.named_buffers()}
        want = {k: str(b.dtype).replace("torch.", "") for k, b in theirs.named_buffers()}
        assert got == want, method
        assert ours[1].weight.dtype == np.dtype(str(theirs[1].weight.dtype).replace("torch.", ""))
    m = nn.Linear(2, 2)
    assert m.cpu() is m
    with pytest.raises(TypeError, match="bfloat16"):
        m.bfloat16()
    with pytest.raises(TypeError, match="Linear.type: 'nonsense' is not a dtype"):
        m.type("nonsense")


def test_add_module_register_module_set_submodule():
    for L in (tl, torch):
        seq = L.nn.Sequential(L.nn.Linear(2, 2), L.nn.Sequential(L.nn.Tanh(), L.nn.Linear(2, 2)))
        seq.add_module("extra", L.nn.Tanh())
        seq.register_module("more", L.nn.ReLU())
        seq.set_submodule("1.0", L.nn.Sigmoid())
        assert type(seq.get_submodule("1.0")).__name__ == "Sigmoid"
        assert [n for n, _ in seq.named_children()] == ["0", "1", "extra", "more"]
        with pytest.raises(TypeError):
            seq.add_module("bad", 3)
        with pytest.raises(KeyError):
            seq.add_module("a.b", L.nn.Tanh())
        with pytest.raises(AttributeError):
            seq.set_submodule("1.nothing", L.nn.Tanh(), strict=True)
        with pytest.raises(AttributeError):
            seq.set_submodule("nothing.0", L.nn.Tanh())
        with pytest.raises(AttributeError):
            seq.get_submodule("0.weight")
        with pytest.raises(ValueError):
            seq.set_submodule("1.0", 3)
        assert [n for n, _ in seq.named_children()] == ["0", "1", "extra", "more"]
    ours = nn.Linear(2, 2)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        ours.add_module("weight", nn.Tanh())


# ---- LayerNorm, Flatten, Unflatten --------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, normalized, affine, bias, eps",
    [
        ((4, 5), 5, True, True, 1e-5),
        ((2, 3, 4), (3, 4), True, True, 1e-5),
        ((2, 3, 4), [4], False, True, 1e-3),
        ((3, 6), (6,), True, False, 0.1),
    ],
)
def test_layer_norm_as_pytorch_to_second_order(shape, normalized, affine, bias, eps):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * 3 + 1
    ours = nn.LayerNorm(normalized, eps=eps, elementwise_affine=affine, bias=bias, dtype=np.float64)
    theirs = torch.nn.LayerNorm(normalized, eps=eps, elementwise_affine=affine, bias=bias, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _, p in ours.named_parameters():  # not the initial ones and zeros, so that they matter
        p.data[...] = rng.standard_normal(p.shape)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    upstream = rng.standard_normal(shape)
    results = {}
    for L, m in ((tl, ours), (torch, theirs)):
        xt = _tensor(L, x, True)
        y = m(xt)
        loss = (y * _tensor(L, upstream)).sum()
        grad = torch.autograd.grad if L is torch else tl.grad
        params = [p for _, p in m.named_parameters()]
        first = grad(loss, [xt, *params], create_graph=True)
        second = grad((first[0] ** 2).sum() + sum((g**3).sum() for g in first[1:]), [xt, *params], allow_unused=True)
        results[L] = [_a(y), *(_a(g) for g in first), *(_a(g) for g in second)]
    _same_log(results[tl], results[torch])
    # the functional form, and the same refusals
    close(
        tl.nn.functional.layer_norm(tl.Tensor(x), normalized, eps=eps),
        torch.nn.functional.layer_norm(
            torch.tensor(x), list(normalized) if not isinstance(normalized, int) else [normalized], eps=eps
        ),
    )


def test_layer_norm_refuses_by_name():
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 3\) does not end in normalized_shape"):
        nn.LayerNorm(4, dtype=np.float64)(tl.Tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="normalized_shape must be one or more positive ints"):
        nn.LayerNorm(0)
    with pytest.raises(ValueError, match=r"layer_norm: weight of shape \(3,\)"):
        tl.nn.functional.layer_norm(tl.zeros(2, 4), 4, weight=tl.ones(3))
    with pytest.raises(TypeError, match="LayerNorm: input dtype float64"):
        nn.LayerNorm(3, dtype=np.float32)(tl.Tensor(np.zeros((1, 3))))


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda L: L.nn.Flatten(), (2, 3, 4)),
        (lambda L: L.nn.Flatten(0, 1), (2, 3, 4)),
        (lambda L: L.nn.Flatten(-2, -1), (2, 3, 4, 5)),
        (lambda L: L.nn.Unflatten(1, (3, 4)), (2, 12)),
        (lambda L: L.nn.Unflatten(-1, (2, -1)), (2, 3, 8)),
        (lambda L: L.nn.Sequential(L.nn.Flatten(), L.nn.Unflatten(1, (4, 3))), (2, 3, 4)),
    ],
)
def test_flatten_and_unflatten_as_pytorch(make, shape):
    x = np.random.default_rng(6).standard_normal(shape)
    upstream = None
    outs = {}
    for L in (tl, torch):
        xt = _tensor(L, x, True)
        y = make(L)(xt)
        upstream = np.arange(y.numel() if L is torch else y.data.size, dtype=np.float64).reshape(tuple(y.shape))
        (y * _tensor(L, upstream)).sum().backward()
        outs[L] = (_a(y), _a(xt.grad))
    _same_log(outs[tl], outs[torch])
    assert repr(make(tl)) == repr(make(torch))


def test_tied_weights_are_in_state_dict_under_every_name_as_pytorch():
    # an embedding tied to the output layer (a language model's usual tie), and one module used twice
    keys = {}
    for L in (tl, torch):
        emb, head = L.nn.Embedding(3, 2), L.nn.Linear(2, 3, bias=False)
        head.weight = emb.weight
        shared = L.nn.Linear(2, 2)
        keys[L] = list(L.nn.Sequential(emb, head, shared, shared).state_dict())
    assert keys[tl] == keys[torch] == ["0.weight", "1.weight", "2.weight", "2.bias", "3.weight", "3.bias"]
    emb, head = torch.nn.Embedding(3, 2), torch.nn.Linear(2, 3, bias=False)
    head.weight = emb.weight
    ours_emb, ours_head = nn.Embedding(3, 2), nn.Linear(2, 3, bias=False)
    ours_head.weight = ours_emb.weight
    nn.Sequential(ours_emb, ours_head).load_state_dict(torch.nn.Sequential(emb, head).state_dict())  # strict
    close(ours_head.weight, head.weight, rtol=1e-7)
    assert ours_head.weight is ours_emb.weight


def test_functional_call_replaces_buffers_too():
    results = {}
    for L, call in ((tl, tl.func.functional_call), (torch, torch.func.functional_call)):

        class Shifted(L.nn.Module):
            def __init__(self, L):
                super().__init__()
                self.lin = L.nn.Linear(3, 2, dtype=_f64(L))
                self.register_buffer("shift", _tensor(L, [1.0, -1.0]))

            def forward(self, x):
                return self.lin(x) + self.shift

        m = Shifted(L)
        weights = {"lin.weight": _tensor(L, np.ones((2, 3)), True), "lin.bias": _tensor(L, [0.0, 0.0])}
        shift = _tensor(L, [10.0, 20.0], True)
        out = call(m, {**weights, "shift": shift}, (_tensor(L, X),))
        (out**2).sum().backward()
        results[L] = (_a(out), _a(shift.grad), _a(weights["lin.weight"].grad), _a(m.shift))
    _same_log(results[tl], results[torch])
    # a name the module lacks: passed over, as PyTorch's (strict=False); refused with strict=True, as there
    for L in (tl, torch):
        lin = L.nn.Linear(2, 2)
        plain = lin(L.ones(1, 2)).tolist()
        assert L.func.functional_call(lin, {"nothing": L.zeros(1)}, (L.ones(1, 2),)).tolist() == plain
        with pytest.raises(RuntimeError, match=r"(?s)nothing.*bias.*weight"):
            L.func.functional_call(lin, {"nothing": L.zeros(1)}, (L.ones(1, 2),), strict=True)


_RESETTABLE = {
    "Linear": lambda: tl.nn.Linear(4, 3),
    "Embedding": lambda: tl.nn.Embedding(5, 3, padding_idx=1),
    "LayerNorm": lambda: tl.nn.LayerNorm(3),
    "GroupNorm": lambda: tl.nn.GroupNorm(1, 3),
    "RNN": lambda: tl.nn.RNN(3, 4, num_layers=2),
    "GRU": lambda: tl.nn.GRU(3, 4, bidirectional=True),
    "LSTM": lambda: tl.nn.LSTM(3, 4, proj_size=2, forget_bias=1.0),
    "LSTM peephole": lambda: tl.nn.LSTM(3, 4, variant="peephole"),
    "RNNCell": lambda: tl.nn.RNNCell(3, 4),
    "GRUCell": lambda: tl.nn.GRUCell(3, 4),
    "LSTMCell": lambda: tl.nn.LSTMCell(3, 4, forget_bias=1.0),
}


@pytest.mark.parametrize("name", sorted(_RESETTABLE))
def test_reset_parameters_draws_again_in_place_as_at_construction(name):
    """``reset_parameters()``, which PyTorch's layers have and scripts call to start again (often as
    ``if hasattr(m, "reset_parameters")``, which skipped these layers silently): the same Parameter
    objects (an optimizer keeps them), drawn again as a new layer is (same generator state, same
    values: the same draws in the same order), after training changed them."""
    tl.manual_seed(7)
    fresh = {k: p.data.copy() for k, p in _RESETTABLE[name]().named_parameters()}
    m = _RESETTABLE[name]()
    params = dict(m.named_parameters())
    with tl.no_grad():
        for p in params.values():
            p.data[...] = 9.0  # "trained"
    tl.manual_seed(7)
    m.reset_parameters()
    assert dict(m.named_parameters()).keys() == fresh.keys()
    for k, p in m.named_parameters():
        assert p is params[k], k
        np.testing.assert_array_equal(p.data, fresh[k], err_msg=k)


def test_a_recurrent_layers_all_weights_as_pytorchs():
    torch = pytest.importorskip("torch")
    for kw in (dict(num_layers=2, bidirectional=True, proj_size=2), dict(bias=False), dict(num_layers=3)):
        theirs = torch.nn.LSTM(3, 4, **kw).all_weights
        ours = tl.nn.LSTM(3, 4, **kw).all_weights
        assert [[tuple(w.shape) for w in ws] for ws in theirs] == [[w.shape for w in ws] for ws in ours], kw
    gru = tl.nn.GRU(3, 4, num_layers=2)
    assert gru.all_weights[1][0] is gru.weight_ih_l1


_COPIED = {  # a layer, and an input it takes
    "Linear": (lambda: tl.nn.Linear(4, 3), (2, 4)),
    "Embedding": (lambda: tl.nn.Embedding(5, 3, padding_idx=1), None),
    "LayerNorm": (lambda: tl.nn.LayerNorm(4), (2, 4)),
    "BatchNorm1d": (lambda: tl.nn.BatchNorm1d(4), (3, 4)),
    "Conv1d": (lambda: tl.nn.Conv1d(2, 3, 2), (1, 2, 5)),
    "RNN": (lambda: tl.nn.RNN(4, 3, num_layers=2), (5, 2, 4)),
    "GRU": (lambda: tl.nn.GRU(4, 3, bidirectional=True), (5, 2, 4)),
    "LSTM": (lambda: tl.nn.LSTM(4, 3, proj_size=2), (5, 2, 4)),
    "LSTM peephole": (lambda: tl.nn.LSTM(4, 3, variant="peephole"), (5, 2, 4)),
    "LSTMCell": (lambda: tl.nn.LSTMCell(4, 3), (2, 4)),
    "Sequential, tied": (lambda: _tied_pair(), (2, 4)),
}


def _tied_pair():
    first, second = tl.nn.Linear(4, 4), tl.nn.Linear(4, 4)
    second.weight = first.weight
    return tl.nn.Sequential(first, tl.nn.Tanh(), second)


@pytest.mark.parametrize("name", sorted(_COPIED))
def test_every_layer_deep_copied_learns_on_its_own(name):
    """``copy.deepcopy(layer)``, for every kind of layer: the copy's parameters are new leaves with the
    original's values (ties kept), its backward fills its own .grad and none of the original's, and an
    optimizer step of the copy leaves the original as it was (the copy's gradients went to the original)."""
    import copy

    make, shape = _COPIED[name]
    original = make()
    twin = copy.deepcopy(original)
    before = {k: p.data.copy() for k, p in original.named_parameters()}
    for (k, p), (_, q) in zip(original.named_parameters(), twin.named_parameters()):
        assert q is not p and np.array_equal(q.data, p.data), k
    x = tl.tensor(np.array([[0, 1, 4]])) if shape is None else tl.randn(*shape)
    out = twin(x)
    out = out[0] if isinstance(out, tuple) else out
    (out**2).sum().backward()
    assert all(p.grad is not None for p in twin.parameters()) and all(p.grad is None for p in original.parameters())
    tl.optim.SGD(twin.parameters(), lr=0.1).step()
    for k, p in original.named_parameters():
        np.testing.assert_array_equal(p.data, before[k], err_msg=k)
    if name == "Sequential, tied":
        assert twin[0].weight is twin[2].weight
