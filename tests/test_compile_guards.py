"""Issue 27, one reproducer per class: what a compiled step traces, guards and refuses."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import nn

# every test here runs on both backends of tl.compile (conftest.py): the NumPy replay and numba's kernels
pytestmark = pytest.mark.usefixtures("compile_backend")

F = nn.functional
X1, X2 = np.ones((2, 3)), np.arange(6.0).reshape(2, 3) - 2.5


def twins(fn_of):
    """The same function twice over one fresh Linear: compiled, and eager (the reference)."""
    lin = nn.Linear(3, 1, dtype=np.float64)
    return lin, tl.compile(fn_of(lin)), fn_of(lin)


def assert_same(step, fn, *xs):
    for x in xs:
        np.testing.assert_array_equal(step(x).data, fn(tl.Tensor(x)).data)


@pytest.mark.parametrize(
    "body",
    [
        lambda lin, x: ((lin(x) - lin(x).detach().mean()) ** 2).sum(),
        lambda lin, x: F.leaky_relu(-lin(x), 0.1).sum(),
        lambda lin, x: F.elu(lin(x) * 3).sum(),
        lambda lin, x: F.softplus(lin(x), threshold=0.5).sum(),
        lambda lin, x: F.hardtanh(lin(x)).sum(),
        lambda lin, x: (lin(x) * lin(x).sign()).sum(),
        lambda lin, x: tl.where(lin(x) > 0, lin(x), 0.0).sum(),
        lambda lin, x: (lin(x) * 100).log_softmax(axis=0).sum(),
        lambda lin, x: F.cross_entropy(tl.cat([lin(x), -lin(x)], axis=1) * 300, np.array([0, 1])),
    ],
)
def test_ops_without_a_gradient_are_recomputed_on_every_replay(body):
    lin, step, fn = twins(lambda lin: lambda x: body(lin, x))
    assert_same(step, fn, X1, X2, X2 * 100, -X1)
    assert step.replays == 3


def test_a_result_under_no_grad_inside_the_step_is_recomputed():
    def make(lin):
        def f(x):
            with tl.no_grad():
                m = lin(x).mean()
            return ((lin(x) - m) ** 2).sum()

        return f

    lin, step, fn = twins(make)
    assert_same(step, fn, X1, X2)


@pytest.mark.parametrize(
    "body",
    [
        lambda l: l * 10 if l.data > 100 else l,  # noqa: E741
        lambda l: tl.where(np.asarray(l.detach().numpy()) > 0, l, 0),  # noqa: E741
    ],
)
def test_python_reads_of_computed_values_are_refused_before_anything_changes(body):
    lin, step, _ = twins(lambda lin: lambda x: body(lin(x).sum()))
    with pytest.raises(tl.CompileError, match="a replay would reuse the first call's value"):
        step(X1)
    assert lin.weight.grad is None and not step.programs


def test_random_draws_in_the_step_are_refused_and_the_generator_is_put_back():
    lin, step, _ = twins(lambda lin: lambda x: (lin(x) * tl.randn(2, 1, dtype=np.float64)).sum())
    tl.manual_seed(3)
    with pytest.raises(tl.CompileError, match="draws random numbers"):
        step(X1)
    a = tl.randn(3).data
    tl.manual_seed(3)
    np.testing.assert_array_equal(a, tl.randn(3).data)


def test_a_draw_from_pythons_random_in_the_step_is_refused_and_put_back():
    """A step that chose with Python's random module (a branch on random.random()) replayed the first
    call's choice on every call, silently: its state is watched now, as NumPy's and the package's."""
    import random

    lin = nn.Linear(3, 1, dtype=np.float64)
    step = tl.compile(lambda x: (lin(x) * (2.0 if random.random() < 0.5 else 1.0)).sum())
    random.seed(5)
    with pytest.raises(tl.CompileError, match=r"draws random numbers \(.*random\.\.\.\)"):
        step(X1)
    first = random.random()
    random.seed(5)
    assert random.random() == first  # the draw was put back


def test_a_replaced_frozen_or_recast_parameter_records_again():
    lin, step, fn = twins(lambda lin: lambda x: (lin(x) ** 2).sum())
    assert_same(step, fn, X1, X2)
    lin.weight = nn.Parameter(lin.weight.data * 2)
    assert_same(step, fn, X2)
    lin.bias.requires_grad_(False)
    loss = step(X1)
    loss.backward()
    assert lin.bias.grad is None and lin.weight.grad is not None
    lin.bias.requires_grad_(True)
    step(X1).backward()
    assert lin.bias.grad is not None
    lin.astype(np.float32)
    with pytest.raises(Exception) as compiled:
        step(X1)
    with pytest.raises(Exception) as eager:
        (lin(tl.Tensor(X1)) ** 2).sum()
    assert type(compiled.value) is type(eager.value)


def test_train_after_recording_in_eval_records_again_and_refuses_dropout():
    lin, drop = nn.Linear(3, 1, dtype=np.float64), nn.Dropout(0.5)
    drop.eval()
    step = tl.compile(lambda x: drop(lin(x)).sum())
    step(X1), step(X2)
    drop.train()
    with pytest.raises(tl.CompileError, match="dropout"):
        step(X1)


def test_closure_values_read_by_the_step_are_guarded():
    lin = nn.Linear(3, 1, dtype=np.float64)
    temperature, target = [1.0], np.zeros((2, 1))

    def f(x):
        return F.mse_loss(lin(x) / temperature[0], target)

    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    temperature[0] = 4.0
    assert_same(step, f, X2)
    target[...] = 3.0  # written in place
    assert_same(step, f, X2)
    assert step.recordings[1:] == ["temperature[0] changed since the step was recorded"] + [
        "target (its values) changed since the step was recorded"
    ]


def test_a_module_buffer_written_in_place_makes_the_step_record_again():
    """A loss's class weights are read in Python while the step records (they become numbers in the
    program): written in place afterwards, the replay computed with the old weights, silently."""
    lin = nn.Linear(3, 4, dtype=np.float64)
    loss = nn.CrossEntropyLoss(weight=tl.tensor(np.array([1.0, 2.0, 3.0, 4.0])))
    probabilities = tl.tensor(np.full((2, 4), 0.25))

    def f(x):
        return loss(lin(x), probabilities)

    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    with tl.no_grad():
        loss.weight[0] = 10.0
    assert_same(step, f, X2, X1)
    assert step.recordings[1:] == [
        "loss.weight (its array, its values or requires_grad) changed since the step was recorded"
    ]


class _Holder(nn.Module):
    """A module whose forward reads what it holds besides parameters: a tensor, an array, a list."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 4, dtype=np.float64)
        self.picks = tl.tensor(np.array([0, 1, 3]))
        self.rows = np.array([0, 1, 0])
        self.scale = [1.0]

    def forward(self, x):
        picked = (self.lin(x) * F.one_hot(self.picks, 4)[:2]).sum()
        return picked + self.lin(x)[self.rows, 0].sum() * self.scale[0]


@pytest.mark.parametrize("held", ["picks", "rows", "scale"])
@pytest.mark.parametrize("called", ["closure", "module", "method"])
def test_what_a_module_holds_changed_in_place_makes_the_step_record_again(held, called):
    """A tensor, an array or a list held by a module and changed in place: the replay kept the value it
    recorded (modules were checked by their counter alone, which sees attributes set, not changed)."""
    m = _Holder()
    f = {"closure": lambda x: m(x), "module": m, "method": m.forward}[called]
    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    with tl.no_grad():
        {"picks": lambda: m.picks.__setitem__(0, 2), "rows": lambda: m.rows.__setitem__(0, 1),
         "scale": lambda: m.scale.__setitem__(0, 5.0)}[held]()  # fmt: skip
    assert_same(step, f, X2, X1)
    assert len(step.recordings) == 2 and held in step.recordings[1]


def test_a_global_rebound_is_seen():
    global TARGET
    lin = nn.Linear(3, 1, dtype=np.float64)
    TARGET = np.zeros((2, 1))

    def f(x):
        return F.mse_loss(lin(x), TARGET)

    step = tl.compile(f)
    assert_same(step, f, X1)
    TARGET = np.ones((2, 1))
    assert_same(step, f, X1)
    assert "TARGET" in step.recordings[-1]


@pytest.mark.parametrize(
    "inside",
    [
        lambda opt, params: opt.step(),
        lambda opt, params: opt.zero_grad(),
        lambda opt, params: nn.utils.clip_grad_norm_(params, 1.0),
        lambda opt, params: nn.utils.clip_grad_value_(params, 1.0),
        lambda opt, params: tl.optim.lr_scheduler.StepLR(opt, 1).step(),
    ],
)
def test_training_side_effects_inside_the_step_are_refused(inside):
    lin = nn.Linear(3, 1, dtype=np.float64)
    params = list(lin.parameters())
    opt = tl.optim.SGD(params, lr=0.1)
    for p in params:
        p.grad = tl.Tensor(np.ones_like(p.data))
    before = [p.data.copy() for p in params]

    def f(x):
        inside(opt, params)
        return lin(x).sum()

    with pytest.raises(tl.CompileError, match="recording call only"):
        tl.compile(f)(X1)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)
        np.testing.assert_array_equal(p.grad.data, 1.0)


@pytest.mark.parametrize("how", ["hook", "retain", "grad", "trace"])
def test_hooks_retain_graph_grad_and_trace_work_on_replays_after_optimizer_steps(how):
    lin, step, fn = twins(lambda lin: lambda x: (lin(x).tanh() ** 2).sum())
    opt = tl.optim.SGD(list(lin.parameters()), lr=0.1)
    for x in (X1, X2, X1 * 3):
        loss, want = step(x), fn(tl.Tensor(x))
        np.testing.assert_array_equal(loss.data, want.data)
        if how == "hook":
            loss.register_hook(lambda g: g * 2)
            loss.backward()
        elif how == "retain":
            loss.backward(retain_graph=True)
        elif how == "grad":
            (gw, _) = tl.grad(loss, list(lin.parameters()), retain_graph=True)
            (ew, _) = tl.grad(want, list(lin.parameters()), retain_graph=True)
            np.testing.assert_array_equal(gw.data, ew.data)
            loss.backward()
        else:
            with tl.trace_backward():
                loss.backward()
        opt.step()
        opt.zero_grad()
    assert step.replays == 2


def test_a_replay_under_no_grad_is_eager_and_requires_no_grad():
    lin, step, fn = twins(lambda lin: lambda x: lin(x).sum())
    step(X1)
    with tl.no_grad():
        loss = step(X2)
    assert not loss.requires_grad
    np.testing.assert_array_equal(loss.data, fn(tl.Tensor(X2)).data)


def test_a_packed_sequence_input_is_refused_clearly():
    lstm = nn.LSTM(3, 2, dtype=np.float64)
    packed = nn.utils.rnn.pack_padded_sequence(tl.Tensor(np.ones((4, 2, 3))), [4, 2])
    step = tl.compile(lambda p: lstm(p)[0].data.sum())
    with pytest.raises(tl.CompileError, match="PackedSequence"):
        step(packed)


def test_a_boolean_mask_index_computed_in_the_step_is_refused():
    lin, step, _ = twins(lambda lin: lambda x: lin(x)[lin(x) > 0].sum())
    with pytest.raises(tl.CompileError, match="boolean mask"):
        step(X1)


# ---- the ops a trust fix rewrote (their masks, shifts and indices are ops, so replays recompute them) ---
_HEADS = {
    "std": lambda y: y.std(axis=1).sum(),
    "var correction 2": lambda y: y.var(axis=0, correction=2).sum(),
    "norm 0.5": lambda y: y.norm(0.5),
    "max(dim=) and its indices": lambda y: y.max(dim=1).values.sum() + (y * y.min(dim=0).indices.astype(y.dtype)).sum(),
    "amax": lambda y: y.max(axis=1).sum(),
    "log_softmax": lambda y: y.log_softmax(axis=1).sum(),
    "logsumexp": lambda y: y.logsumexp(axis=1).sum(),
    "flip": lambda y: (y.flip(0) * np.arange(8.0).reshape(2, 4)).sum(),
    "one element": lambda y: y[0, 1] * y[1, 2],
    "elu": lambda y: tl.nn.functional.elu(y).sum(),
    "hardswish and threshold": lambda y: (F.hardswish(y * 2) * F.threshold(y, 0.1, -1.0)).sum(),
    "softshrink and mish": lambda y: (F.softshrink(y, 0.2) + F.mish(y)).sum(),
    "gaussian_nll_loss, clamped var": lambda y: F.gaussian_nll_loss(y[0], y[1], y[1] * y[1], eps=0.5),
    "multi_margin_loss": lambda y: F.multi_margin_loss(y, np.array([1, 3]), p=2, weight=np.arange(1.0, 5.0)),
    "triplet_margin_loss": lambda y: F.triplet_margin_loss(y[:1], y[1:], y[::-1], swap=True),
    "cosine_embedding_loss": lambda y: F.cosine_embedding_loss(y, y * y, np.array([1.0, -1.0]), margin=-0.5),
    "the other new activations": lambda y: sum(
        f(y).sum()
        for f in (
            F.glu,
            F.selu,
            lambda z: F.celu(z, 0.7),
            F.relu6,
            F.hardsigmoid,
            F.softsign,
            F.tanhshrink,
            F.hardshrink,
        )
    ),
    "the other new losses": lambda y: (
        F.poisson_nll_loss(y, y * y, full=True)
        + F.hinge_embedding_loss(y, np.sign(np.arange(8.0).reshape(2, 4) - 3.5))
        + F.margin_ranking_loss(y[0], y[1], np.array([1.0, -1.0, 1.0, -1.0]), margin=0.3)
        + F.soft_margin_loss(y, -y.detach())
        + F.multilabel_soft_margin_loss(y, (y > 0) * 1.0, weight=np.arange(4.0))
    ),
    "sign": lambda y: (y.sign() * y).sum(),
    "number over tensor": lambda y: (1.0 / (y * y + 1)).sum(),
    "in place": lambda y: (lambda z: (z.__iadd__(1.0), z.mul_(2.0), (z * z).sum())[-1])(y * 1.0),
    "write through a view": lambda y: (lambda z: (z[0].__iadd__(3.0), (z * z).sum())[-1])(y * 1.0),
    # PyTorch's spellings composed of primitives (sort's order is an op, so a replay sorts again)
    "floor division, remainder, fmod": lambda y: (y // 0.7 * y + y % 0.7 + tl.fmod(y, -0.6) + y.frac()).sum(),
    "diag and trace": lambda y: y.diagonal(1).sum() + (y[0].diag(1) ** 2).sum() + y[:, :2].trace(),
    "tile, movedim, repeat_interleave": lambda y: (y.tile(2, 1).movedim(0, 1).repeat_interleave(2, dim=0) ** 2).sum(),
    "unfold and cumprod": lambda y: (y.unfold(1, 2, 1) ** 2).sum() + y.cumprod(1).sum(),
    "sort, topk, kthvalue": lambda y: (
        (y.sort(dim=1).values[:, 0] * y.topk(2).values[:, 1]).sum() + y.kthvalue(2, 0)[0].sum()
    ),
    "lerp, addmm, outer": lambda y: (
        y.lerp(y * y, y.sigmoid()).sum() + tl.addmm(y[:, :2], y, y.T, beta=0.5).sum() + tl.outer(y[0], y[1]).sum()
    ),
    "cosine similarity": lambda y: tl.nn.functional.cosine_similarity(y, y * y + 1.0).sum(),
    "atan2, hypot, logaddexp, sinh": lambda y: (
        tl.atan2(y, y.T.T + 1.0) + y.hypot(y * 2) + y.logaddexp(-y) + y.sinh()
    ).sum(),
    "cummax and scatter_add": lambda y: (
        y.cummax(1).values.sum() + y.scatter_add(1, tl.tensor([[0, 0], [3, 1]]), y[:, :2]).sum()
    ),
    "median, quantile, logcumsumexp, cov": lambda y: (
        y.median()
        + y.median(dim=1).values.sum()
        + y.quantile(0.3, dim=1).sum()
        + y.nanquantile(0.7)
        + y.logcumsumexp(1).sum()
        + y.cov().sum()
        + tl.sinc(y).sum()
        + y.nan_to_num().sum()
    ),
    "rot90, diff, kron, cross, inverse": lambda y: (
        y.rot90().diff().sum()
        + tl.kron(y[:, :2], y[:, 2:]).sum()
        + y[:, :3].cross(y[:, 1:], dim=1).sum()
        + (y[:, :2] + 3 * tl.eye(2, dtype=np.float64)).inverse().sum()
    ),
    "det, slogdet, logdet, solve": lambda y: (
        tl.linalg.det(tl.stack([y[:, :2], y[:, 2:]])).sum()
        + tl.linalg.slogdet(y[:, 1:3] + 3 * tl.eye(2, dtype=np.float64)).logabsdet
        + tl.logdet(y[:, :2] * y[:, :2] + 2 * tl.eye(2, dtype=np.float64))
        + tl.linalg.solve(y[:, :2] + 3 * tl.eye(2, dtype=np.float64), y.T.T[:, 1:]).sum()
    ),
    "norms, multi_dot, vecdot, svd": lambda y: (
        tl.linalg.vector_norm(y, 3.5, dim=1).sum()
        + tl.linalg.matrix_norm(y, 1)
        + tl.linalg.norm(y, np.inf)
        + tl.linalg.multi_dot([y[0], y.T, y, y[1]])
        + tl.linalg.vecdot(y, y * y).sum()
        + tl.linalg.matrix_norm(y, "nuc")
        + tl.linalg.cond(y[:, :2])
        + (tl.linalg.svd(y, full_matrices=False).U ** 2).sum()
    ),
}


@pytest.mark.parametrize("name", sorted(_HEADS))
def test_rewritten_ops_replay_bit_identical_to_eager(name):
    f = _HEADS[name]
    lin = tl.nn.Linear(3, 4, dtype=np.float64)
    step = tl.compile(lambda x: f(lin(x)))
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((2, 3)) * 3.0
        lin.zero_grad()
        compiled = step(x)
        compiled.backward()
        replayed = [p.grad.data.copy() for p in lin.parameters()]
        lin.zero_grad()
        eager = f(lin(tl.tensor(x)))
        eager.backward()
        np.testing.assert_array_equal(compiled.data, eager.data)
        for a, p in zip(replayed, lin.parameters()):
            np.testing.assert_array_equal(a, p.grad.data)
    assert step.replays == 2


class Settings:  # a plain object, not a Module: its attributes are guarded one by one
    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.lin = nn.Linear(3, 1, dtype=np.float64)

    def loss(self, x):
        return (self.lin(x) * self.scale).sum()


def test_attributes_of_a_plain_object_the_step_reads_are_guarded():
    cfg = Settings(2.0)

    def f(x):
        return (cfg.lin(x) * cfg.scale).sum()

    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    assert step.replays == 1  # an unchanged attribute lets it replay
    cfg.scale = 3.0
    assert_same(step, f, X2, X1)
    assert step.recordings == ["first call", "cfg.scale changed since the step was recorded"]
    assert step.replays == 2
    # the step as a bound method of a plain object: its attributes are read through self
    settings = Settings(2.0)
    method = tl.compile(settings.loss)
    assert_same(method, settings.loss, X1, X2)
    settings.scale = -1.0
    assert_same(method, settings.loss, X1)
    assert method.recordings == ["first call", "self.scale changed since the step was recorded"]


def test_attributes_of_an_object_held_by_an_object_are_guarded():
    """A setting one object deeper (``run.settings.scale``): the guards walk into an attribute's own
    attributes (a mutant that stopped at the first level replayed the old scale, silently)."""

    class Run:
        def __init__(self) -> None:
            self.settings = Settings(2.0)

    run = Run()

    def f(x):
        return (run.settings.lin(x) * run.settings.scale).sum()

    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    run.settings.scale = -0.5
    assert_same(step, f, X1)
    assert step.recordings == ["first call", "run.settings.scale changed since the step was recorded"]


def test_a_python_read_while_recording_is_refused_by_what_it_read_and_its_shape():
    lin = nn.Linear(3, 1, dtype=np.float64)
    with pytest.raises(tl.CompileError, match=r"^compile: numpy\(\) of a value the step computes \(shape \(2, 1\)\)"):
        tl.compile(lambda x: tl.where(lin(x).detach().numpy() > 0, lin(x), 0).sum())(X1)
    with pytest.raises(tl.CompileError, match=r"^compile: numpy\(\) turns a recorded value into a Python value"):
        tl.compile(lambda x: lin(x).sum() * float(lin(x).numpy().sum()))(X1)
    assert lin.weight.grad is None


def test_a_modules_bound_method_replays_across_optimizer_steps():
    # a Module's attributes are guarded by the modules' change counter, not one by one: an optimizer
    # step writes its parameters in place and must not make the step record again
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(np.arange(3.0).reshape(3, 1) / 4)

        def loss(self, x):
            return ((tl.Tensor(x) @ self.weight) ** 2).sum()

    net, twin = Net(), Net()
    step = tl.compile(net.loss)
    opts = [tl.optim.SGD(m.parameters(), lr=0.01) for m in (net, twin)]
    for x in (X1, X2, X1):
        for opt in opts:
            opt.zero_grad()
        step(x).backward()
        twin.loss(x).backward()
        for opt in opts:
            opt.step()
        np.testing.assert_array_equal(net.weight.data, twin.weight.data)
    assert step.replays == 2 and step.recordings == ["first call"]


def test_a_hook_the_step_puts_on_its_result_runs_on_every_replay():
    lin = nn.Linear(3, 1, dtype=np.float64)

    def f(x):
        loss = (lin(x) ** 2).sum()
        loss.register_hook(lambda g: g * 3)  # the step's own hook: part of the step, on every call
        return loss

    step = tl.compile(f)
    grads = []
    for x in (X1, X2, X2):
        lin.weight.grad = None
        step(x).backward()
        grads.append(lin.weight.grad.data)
    assert step.replays == 2
    w, b = lin.weight.data, lin.bias.data
    for x, g in zip((X1, X2, X2), grads):  # d/dw of 3 * sum((x w^T + b)^2) = 6 (x w^T + b)^T x
        np.testing.assert_allclose(g, 6 * (x @ w.T + b).T @ x, rtol=1e-13)


# an index or mask the step computes, read in Python by the op, would be replayed as the first call's:
# refused by name (an index given from outside the step replays)
_COMPUTED_INDEX = {
    "take": lambda y: y.take(y.argmax(1)),
    "index_select": lambda y: y.index_select(1, y.argmax(1)),
    "index_add": lambda y: y.index_add(1, y.argmax(1)[:1], y[:, :1]),
    "take_along_dim": lambda y: y.take_along_dim(y.argmax(1, keepdims=True), 1),
    "masked_select": lambda y: y.masked_select(y > 0),
    "repeat_interleave": lambda y: y.repeat_interleave(y.argmax(1), dim=0),
}


@pytest.mark.parametrize("name", sorted(_COMPUTED_INDEX))
def test_an_index_the_step_computes_is_refused_where_a_replay_would_reuse_it(name):
    lin = tl.nn.Linear(3, 4, dtype=np.float64)
    step = tl.compile(lambda x: (_COMPUTED_INDEX[name](lin(x)) ** 2).sum())
    with pytest.raises(tl.CompileError, match=rf"{name}\(\) of a value the step computes"):
        step(X1)
    fixed = tl.compile(lambda x: (lin(x).take(tl.tensor([0, 3])) ** 2).sum())
    assert_same(fixed, lambda x: (lin(x).take(tl.tensor([0, 3])) ** 2).sum(), X1, X2)


@pytest.mark.parametrize(
    "loss",
    [
        lambda lin, x, y: F.nll_loss(lin(x).log_softmax(1), y.argmax(1)),
        lambda lin, x, y: F.cross_entropy(lin(x), y.argmax(1), weight=((y.sum(0) + 1.0) / 10.0).detach()),
        lambda lin, x, y: F.multi_margin_loss(lin(x), y.argmax(1)),
        lambda lin, x, y: (lin(x) * F.one_hot(y.argmax(1), 4)).sum(),
    ],
)
def test_class_targets_or_weights_the_step_computes_are_refused_by_name(loss):
    """nn read targets and class weights through ops._data, which the read guard let through as the
    engine's own: a replay reused the first call's targets, silently (1.37 where eager gave 1.60)."""
    lin = nn.Linear(3, 4, dtype=np.float64)
    step = tl.compile(lambda x, y: loss(lin, x, y))
    with pytest.raises(tl.CompileError, match=r"(target|indices|weight) of a value the step computes"):
        step(np.ones((5, 3)), np.eye(4)[[0, 1, 2, 3, 0]])


def test_a_class_weight_computed_by_the_step_with_probability_targets_replays_as_eager():
    lin = nn.Linear(3, 4, dtype=np.float64)

    def f(x, y):
        return F.cross_entropy(lin(x), y, weight=(y.sum(0) + 1.0) / 10.0)

    step = tl.compile(f)
    for k in range(3):
        rng = np.random.default_rng(k)
        x, y = rng.standard_normal((5, 3)), rng.dirichlet(np.ones(4), 5)
        assert float(step(x, y)) == float(f(tl.tensor(x), tl.tensor(y)))
    assert step.replays == 2


def test_inside_a_step_its_inputs_and_what_depends_on_them_alone_need_no_grad_as_in_eager():
    """A step's inputs are recorded (so that a replay recomputes what reads them), and they reported
    requires_grad=True while the step recorded, where eager says False: a step that branched on it
    replayed another program than eager's, silently (twice the loss here); nn refused a class weight
    computed from an input as a weight that requires grad."""
    lin = nn.Linear(3, 4, dtype=np.float64)

    def f(x, y):  # each requires_grad it asks for scales the loss by its own prime: eager's 7 in all
        factor = (2.0 if x.requires_grad else 1.0) * (3.0 if (x * 2).requires_grad else 1.0)
        factor *= (5.0 if (y * 1).requires_grad else 1.0) * (7.0 if lin(x).requires_grad else 1.0)
        return F.cross_entropy(lin(x), y, weight=(y.sum(0) + 1.0) / 10.0) * factor

    step = tl.compile(f)
    for k in range(3):
        rng = np.random.default_rng(k)
        x, y = rng.standard_normal((5, 3)), rng.dirichlet(np.ones(4), 5)
        eager = f(tl.tensor(x), tl.tensor(y))
        assert float(step(x, y)) == float(eager)
        assert float(eager) == 7.0 * float(
            F.cross_entropy(lin(tl.tensor(x)), tl.tensor(y), weight=(tl.tensor(y).sum(0) + 1.0) / 10.0)
        )
    assert step.replays == 2


def test_an_in_place_change_of_a_steps_input_is_refused_by_name():
    lin = nn.Linear(3, 1, dtype=np.float64)

    def f(x):
        x.mul_(2.0)
        return lin(x).sum()

    given = np.ones((2, 3))
    with pytest.raises(RuntimeError, match=r"mul_: the recorded step's input \(input0, shape \(2, 3\).*x = x \* 2"):
        tl.compile(f)(given)
    assert np.array_equal(given, np.ones((2, 3)))


def test_a_new_default_dtype_makes_the_step_record_again():
    """tl.full in the step made a float32 constant; after tl.set_default_dtype(np.float64) eager makes a
    float64 one, and the replay kept the float32 value (1e-8 apart), silently."""
    lin = nn.Linear(3, 1, dtype=np.float64)

    def f(x):
        return (lin(x) * tl.full((2, 1), 1.0 / 3.0)).sum()

    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    before = tl.get_default_dtype()
    tl.set_default_dtype(np.float64)
    try:
        assert_same(step, f, X2, X1)
    finally:
        tl.set_default_dtype(before)
    assert step.recordings[1:] == ["the default dtype (tl.set_default_dtype) changed since the step was recorded"]


def test_inside_detect_anomaly_or_a_tape_the_step_runs_eagerly():
    """A replay runs no instruments: inside detect_anomaly a NaN passed silently where eager stops with
    the op that made it, and a Tape recorded nothing. The step now runs eagerly there."""
    lin = nn.Linear(2, 1, dtype=np.float64)
    with tl.no_grad():
        lin.weight.fill_(1.0)
        lin.bias.fill_(0.0)  # a negative input gives a negative output: its log is NaN

    def f(x):
        return lin(x).log().sum()

    step = tl.compile(f)
    step(np.ones((2, 2)) * 5)
    step(np.ones((2, 2)) * 5)
    with tl.detect_anomaly(), pytest.raises(tl.AnomalyError, match="log"), np.errstate(invalid="ignore"):
        step(-np.ones((2, 2)) * 5)
    with tl.Tape() as tape:
        step(np.ones((2, 2)))
    assert [e.op for e in tape.entries][-2:] == ["log", "sum"]
    assert step.replays == 1


class _Config:
    """A configuration class, as scripts keep one: read by the step through the class."""

    scale = 1.0
    weights = [1.0]


def test_a_class_attribute_the_step_reads_makes_it_record_again():
    """``_Config.scale = 2.0`` after recording: the replay kept 1.0 (classes were not looked into),
    silently; a list held by the class changed in place too."""
    lin = nn.Linear(3, 1, dtype=np.float64)

    def f(x):
        return (lin(x) * _Config.scale * _Config.weights[0]).sum()

    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    before = _Config.scale
    try:
        _Config.scale = 2.0
        assert_same(step, f, X2)
        _Config.weights[0] = 3.0
        assert_same(step, f, X1)
    finally:
        _Config.scale, _Config.weights[0] = before, 1.0
    assert step.recordings[1:] == [
        "_Config.scale changed since the step was recorded",
        "_Config.weights[0] changed since the step was recorded",
    ]


def _user_module(tmp_path, source):
    import importlib.util

    path = tmp_path / "user_config.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("user_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("named", ["closure", "global"])
def test_attributes_of_a_users_module_the_step_reads_make_it_record_again(tmp_path, named):
    """``import config`` and ``config.scale`` in the step: modules were skipped, so after
    ``config.scale = 3.0`` the replay kept 1.0 (-2.39 where eager gave -7.18), silently."""
    # the module holds a module too (np), which the step's code also names: the attributes after it are
    # guarded all the same
    cfg = _user_module(tmp_path, "import numpy as np\nscale = 1.0\nweights = [1.0]\n")
    lin = nn.Linear(3, 1, dtype=np.float64)
    if named == "closure":

        def f(x):
            return (lin(x) * cfg.scale * cfg.weights[0]).sum() * np.float64(1.0)

    else:
        scope = {"cfg": cfg, "lin": lin, "np": np}
        exec("def f(x):\n    return (lin(x) * cfg.scale * cfg.weights[0]).sum() * np.float64(1.0)\n", scope)
        f = scope["f"]
    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    cfg.scale = 3.0
    assert_same(step, f, X2)
    cfg.weights[0] = 0.5
    assert_same(step, f, X1)
    assert step.recordings[1:] == [
        "cfg.scale changed since the step was recorded",
        "cfg.weights[0] changed since the step was recorded",
    ]


_PARTIAL_SCALE = [1.0]


def _scaled_loss(model, x, factor):
    return (model(x) * _PARTIAL_SCALE[0] * factor[0]).sum()


def test_a_partial_as_the_step_is_guarded_through_its_function_and_bound_arguments():
    """``tl.compile(functools.partial(loss, model, factor=...))``: neither what loss reads by name nor
    the arguments bound to it were guarded; changed after recording, the replay kept the old values."""
    import functools

    lin = nn.Linear(3, 1, dtype=np.float64)
    factor = [1.0]
    f = functools.partial(_scaled_loss, lin, factor=factor)
    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    try:
        _PARTIAL_SCALE[0] = 2.0
        assert_same(step, f, X2)
        factor[0] = 3.0
        assert_same(step, f, X1)
    finally:
        _PARTIAL_SCALE[0] = 1.0
    assert step.recordings[1:] == [
        "_PARTIAL_SCALE[0] changed since the step was recorded",
        "partial['factor'][0] changed since the step was recorded",
    ]


class _LossObject:
    """A callable object as the step (not a module): what its __call__ reads by name."""

    def __init__(self, model):
        self.model = model

    def __call__(self, x):
        return (self.model(x) * _PARTIAL_SCALE[0]).sum()


def test_a_callable_object_as_the_step_is_guarded_through_its_call():
    lin = nn.Linear(3, 1, dtype=np.float64)
    f = _LossObject(lin)
    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    try:
        _PARTIAL_SCALE[0] = 2.0
        assert_same(step, f, X2)
    finally:
        _PARTIAL_SCALE[0] = 1.0
    assert step.recordings[1:] == ["_LossObject._PARTIAL_SCALE[0] changed since the step was recorded"]


# ---- generated: every kind of value a step reads besides its inputs x every way a step is given ----------
class _MatrixConfig:
    scale = 1.0


_MATRIX_GLOBAL = [1.0]
_MATRIX_DEFAULT = [1.0]  # a default argument of the body
# a module of the user's own, read as `import config; config.user_scale` (its own file: another module
# than the one whose globals the body reads, so only the module's attribute can tell a change)
_USER_CONFIG = __import__("types").ModuleType("user_config")
_USER_CONFIG.__file__, _USER_CONFIG.user_scale = __file__, 1.0


class _MatrixModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2, dtype=np.float64)
        self.register_buffer("weights", tl.tensor(np.array([1.0, 2.0])))
        self.factors = [1.0]
        self.offset = tl.tensor(np.array([0.5, -0.5]))  # a plain tensor attribute, no buffer

    def forward(self, x):
        return _matrix_body(self, x)


def _matrix_body(m, x, shift=_MATRIX_DEFAULT):
    out = (m.lin(x) + m.offset) * m.weights * m.factors[0] * _MatrixConfig.scale * _MATRIX_GLOBAL[0]
    return (out * out).sum() * _USER_CONFIG.user_scale + shift[0]


class _MatrixCaller:
    def __init__(self, m):
        self.m = m

    def __call__(self, x):
        return _matrix_body(self.m, x)


_MATRIX_CHANGES = {
    "buffer written in place": lambda m: m.weights.__setitem__(0, 3.0),
    "list held by the module": lambda m: m.factors.__setitem__(0, 2.0),
    "tensor attribute written in place": lambda m: m.offset.__setitem__(1, 4.0),
    "class attribute": lambda m: setattr(_MatrixConfig, "scale", 1.5),
    "global list": lambda m: _MATRIX_GLOBAL.__setitem__(0, 0.25),
    "default argument": lambda m: _MATRIX_DEFAULT.__setitem__(0, 2.0),
    "attribute of a user's module": lambda m: setattr(_USER_CONFIG, "user_scale", 1.5),
}
_MATRIX_STEPS = {
    "closure": lambda m: lambda x: _matrix_body(m, x),
    "module": lambda m: m,
    "bound method": lambda m: m.forward,
    "partial": lambda m: __import__("functools").partial(_matrix_body, m),
    "callable object": lambda m: _MatrixCaller(m),
}


@pytest.mark.parametrize("given", sorted(_MATRIX_STEPS))
@pytest.mark.parametrize("change", sorted(_MATRIX_CHANGES))
def test_every_value_a_step_reads_changed_after_recording_replays_as_eager(change, given):
    """The classes found one by one (a module's buffer, list or tensor attribute, a class attribute, a
    global, a default argument, an attribute of a user's module; a step given as a module, a method, a
    partial, a callable object), all pairs: after the change, the replay equals eager (the step records
    again), on both backends."""
    m = _MatrixModule()
    step_fn = _MATRIX_STEPS[given](m)
    step = tl.compile(step_fn)
    assert_same(step, step_fn, X1, X2)
    try:
        with tl.no_grad():
            _MATRIX_CHANGES[change](m)
        assert_same(step, step_fn, X2, X1)
    finally:
        _MatrixConfig.scale, _MATRIX_GLOBAL[0], _MATRIX_DEFAULT[0], _USER_CONFIG.user_scale = 1.0, 1.0, 1.0, 1.0
    assert len(step.recordings) == 2, step.recordings


class _EffectModule(nn.Module):
    """A module whose forward sets one of its own attributes: eager sets it on every call, a replay
    runs no Python and would never set it again."""

    def __init__(self, effect):
        super().__init__()
        self.lin = nn.Linear(3, 1, dtype=np.float64)
        self.spare = nn.Linear(3, 1, dtype=np.float64)
        self.calls = 0
        self.register_buffer("running", tl.tensor(np.zeros(1)))
        self.effect = effect

    def forward(self, x):
        y = self.lin(x)
        self.effect(self, y)
        return (y * self.calls).sum() if self.calls else y.sum()


_EFFECTS = {
    "counter": ("calls", lambda m, y: setattr(m, "calls", m.calls + 1)),
    "stashed result": ("last", lambda m, y: setattr(m, "last", y.detach())),
    "buffer rebound": ("running", lambda m, y: setattr(m, "running", 0.9 * m.running + 0.1 * y.mean().detach())),
    "submodule replaced": ("lin", lambda m, y: setattr(m, "lin", m.spare)),
}
_EFFECT_STEPS = {
    "closure": lambda m: lambda x: m(x),
    "module": lambda m: m,
    "bound method": lambda m: m.forward,
    "partial": lambda m: __import__("functools").partial(_EffectModule.forward, m),
    "callable object": lambda m: _EffectCaller(m),
}


class _EffectCaller:
    def __init__(self, m):
        self.m = m

    def __call__(self, x):
        return self.m(x)


@pytest.mark.parametrize("given", sorted(_EFFECT_STEPS))
@pytest.mark.parametrize("effect", sorted(_EFFECTS))
def test_a_module_attribute_set_while_the_step_runs_is_refused_and_put_back(effect, given):
    """``self.calls += 1`` or ``self.last = out.detach()`` in a forward: eager sets them on every call,
    a replay never would (the counter grew once, then the replays returned the first call's scaling,
    and `last` stayed the first call's). Refused by the attribute's name, every attribute as before."""
    name, fn = _EFFECTS[effect]
    m = _EffectModule(fn)
    step_fn = _EFFECT_STEPS[given](m)
    before = dict(vars(m)), dict(m._buffers), dict(m._modules)
    with pytest.raises(tl.CompileError, match=rf"changed \S+\.{name} while it ran"):
        tl.compile(step_fn)(X1)
    after = dict(vars(m)), dict(m._buffers), dict(m._modules)
    for was, now in zip(before, after):
        assert was.keys() == now.keys() and all(was[k] is now[k] for k in was), effect


def test_a_default_argument_the_step_reads_is_guarded():
    """``def step(x, w=weights)``, then ``weights[0] = 5.0``: defaults were not looked into, so the
    replay kept 1.0 (-2.39 where eager gave -11.96), silently."""
    lin = nn.Linear(3, 1, dtype=np.float64)
    weights = [1.0]

    def f(x, w=weights, *, shift=weights):
        return (lin(x) * w[0] + shift[0]).sum()

    step = tl.compile(f)
    assert_same(step, f, X1, X2)
    weights[0] = 5.0
    assert_same(step, f, X2, X1)
    assert step.recordings[1:] == ["f's default w[0] changed since the step was recorded"]


def _counting():
    k = 0
    while True:
        k += 1
        yield float(k)


@pytest.mark.parametrize(
    "make",
    [lambda: iter([1.0, 2.0, 3.0]), _counting, lambda: __import__("itertools").count(1), lambda: map(float, "123")],
)
def test_an_iterator_the_step_can_reach_is_refused_before_it_runs(make):
    """``next(it)`` in the step: the replays repeated the first call's item (a list iterator, a
    generator, itertools.count, map), silently. Refused before the step runs, so nothing advanced."""
    lin = nn.Linear(3, 1, dtype=np.float64)
    it = make()

    def f(x):
        return lin(x).sum() * next(it)

    with pytest.raises(tl.CompileError, match=r"the iterator it \(\w+\)"):
        tl.compile(f)(X1)
    assert next(it) == 1.0  # not advanced


def _classifier():
    tl.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 4, dtype=np.float64))


_BATCHES = [(np.random.default_rng(k).standard_normal((5, 3)), np.arange(5) % 4) for k in range(4)]


@pytest.mark.parametrize("how", ["backward", "grad"])
def test_a_compiled_model_with_the_loss_computed_outside_trains_as_eager(how):
    """PyTorch's way: ``out = compiled_model(x)``, the loss outside, then backward and an optimizer
    step. Backward of such a loss after the first optimizer step was refused (the step's entries kept
    the recording's numbers, older than the step's in-place update)."""
    runs = {}
    for mode in ("eager", "compiled"):
        model = _classifier()
        opt = tl.optim.Adam(model.parameters(), lr=0.01)
        call = tl.compile(model) if mode == "compiled" else model
        losses = []
        for x, y in _BATCHES:
            loss = F.cross_entropy(call(x if mode == "compiled" else tl.tensor(x)), tl.tensor(y))
            opt.zero_grad()
            if how == "backward":
                loss.backward()
            else:
                for p, g in zip(model.parameters(), tl.grad(loss, list(model.parameters()))):
                    p.grad = g
            opt.step()
            losses.append(float(loss))
        runs[mode] = losses, [p.data.copy() for p in model.parameters()]
    assert runs["compiled"][0] == runs["eager"][0]
    for got, want in zip(runs["compiled"][1], runs["eager"][1]):
        np.testing.assert_array_equal(got, want)


def test_a_loss_computed_from_a_result_the_step_replayed_over_is_refused():
    """``o1 = step(x1); o2 = step(x2)``, then backward of a loss computed from o1: every call re-arms
    the same entries, and that backward silently used o2's arrays (a gradient of 1.84 where eager gives
    0.08). Each call's result now has an entry of its own, which the sweep checks."""
    model = _classifier()
    step = tl.compile(model)
    step(_BATCHES[0][0])
    o1 = step(_BATCHES[1][0])
    loss1 = (o1**2).sum()
    o2 = step(_BATCHES[2][0])
    with pytest.raises(RuntimeError, match="replayed over"):
        loss1.backward()
    assert model[0].weight.grad is None
    (o2**2).sum().backward()  # the latest call's result is fine
    eager = _classifier()
    (eager(tl.tensor(_BATCHES[2][0])) ** 2).sum().backward()
    np.testing.assert_array_equal(model[0].weight.grad.data, eager[0].weight.grad.data)


def test_a_compiled_module_answers_for_the_module_as_pytorchs_does():
    """``model = tl.compile(model)`` then ``model.parameters()`` for the optimizer, ``train()``/
    ``eval()``, ``state_dict()``: each was an AttributeError on the compiled step. Like PyTorch's
    compiled module it is not indexable; unlike it, the state_dict's keys have no ``_orig_mod.``."""
    plain = _classifier()
    model = tl.compile(plain)
    assert list(model.parameters()) == list(plain.parameters()) and model._orig_mod is plain
    model.eval()
    assert not plain.training and not model.training
    assert list(model.state_dict()) == list(plain.state_dict())
    with pytest.raises(TypeError):
        model[0]
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = model.nonexistent
    with pytest.raises(AttributeError, match="CompiledStep has no attribute 'parameters'"):
        tl.compile(lambda x: plain(x).sum()).parameters()


def test_a_compiled_lstm_that_returns_its_state_too_is_refused_with_the_way_out():
    lstm = nn.LSTM(3, 4, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    with pytest.raises(tl.CompileError, match=r"got tuple; an LSTM returns \(output, \(h, c\)\)"):
        tl.compile(lstm)(x)
    step = tl.compile(lambda x: lstm(x)[0])
    step(x)
    np.testing.assert_array_equal(step(x).data, lstm(tl.tensor(x))[0].data)


class _Scaled(nn.Module):
    factor = 2.0  # a class attribute the forward reads through self

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 1, dtype=np.float64)

    def forward(self, x):
        return (self.lin(x) * self.factor).sum()


@pytest.mark.parametrize("given", ["module", "closure"])
def test_a_class_attribute_of_a_module_subclass_read_through_self_is_guarded(given):
    """``_Scaled.factor = 3.0`` after recording: the replay must record again (a mutant that never
    looked into a Module subclass's class attributes survived: no test changed one)."""
    m = _Scaled()
    step_fn = m if given == "module" else (lambda x: m(x))
    step = tl.compile(step_fn)
    assert_same(step, step_fn, X1, X2)
    try:
        _Scaled.factor = 3.0
        assert_same(step, step_fn, X2, X1)
    finally:
        _Scaled.factor = 2.0
    assert len(step.recordings) == 2 and "factor" in step.recordings[1]


def test_a_step_naming_a_class_of_a_module_without_a_file_records_and_replays():
    """``from itertools import chain`` in the step's module: itertools has no ``__file__``, which the
    guards ask of a class's module (mutants that read it without a default crashed; none was tested)."""
    from itertools import chain

    lin = nn.Linear(3, 1, dtype=np.float64)
    scope = {"chain": chain, "lin": lin}
    exec("def f(x):\n    return lin(x).sum() * len(list(chain([1.0], [2.0])))\n", scope)
    step = tl.compile(scope["f"])
    assert_same(step, scope["f"], X1, X2, X1)
    assert step.replays == 2


def test_why_a_step_records_again_names_what_changed():
    """The reasons in ``step.recordings`` name the module change and the submodule's buffer by path."""
    m = _MatrixModule()
    step = tl.compile(m)
    assert_same(step, m, X1)
    m.extra = 1  # an attribute set
    assert_same(step, m, X1)
    with tl.no_grad():
        m.lin.weight.requires_grad_(False)
        m.lin.register_buffer("mask", tl.tensor(np.ones(2)))
    m.lin.weight.requires_grad_(True)
    assert step.recordings[1] == "a module changed (an attribute set, train()/eval(), astype())"
    assert_same(step, m, X2)
    with tl.no_grad():
        m.lin.mask[0] = 0.0  # a submodule's buffer, written in place: not read by the step, still guarded
    assert_same(step, m, X1)
    assert step.recordings[-1].startswith("_MatrixModule.lin.mask")


def test_a_gan_with_a_compiled_discriminator_trains_as_eager():
    """A discriminator compiled the torch.compile way: its steps on real and detached fakes replay, its
    call on the generator's output (an input that requires grad; refused before) runs eagerly so the
    generator's gradient reaches it; the whole training equals eager's bit for bit."""
    rng = np.random.default_rng(0)
    noise = [rng.standard_normal((4, 2)) for _ in range(3)]
    real = [rng.standard_normal((4, 3)) for _ in range(3)]
    runs = {}
    for mode in ("eager", "compiled"):
        tl.manual_seed(1)
        G = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), nn.Tanh())
        D = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh(), nn.Linear(4, 1, dtype=np.float64))
        call_d = tl.compile(D) if mode == "compiled" else D
        opt_g, opt_d = tl.optim.SGD(G.parameters(), lr=0.1), tl.optim.SGD(D.parameters(), lr=0.1)
        for z, x in zip(noise, real):
            fake = G(tl.tensor(z))
            # one call on real and fake together: two calls before one backward would have the second
            # replay over the first (the first's backward is then refused, as its message says)
            scores = call_d(tl.cat([tl.tensor(x), fake.detach()]))
            d_loss = F.softplus(-scores[:4]).mean() + F.softplus(scores[4:]).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = F.softplus(-call_d(fake)).mean()  # fake requires grad: an eager call
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
        runs[mode] = [p.data.copy() for p in [*G.parameters(), *D.parameters()]]
        if mode == "compiled":
            assert call_d.eager_calls == 3 and call_d.replays >= 1
    for got, want in zip(runs["compiled"], runs["eager"]):
        np.testing.assert_array_equal(got, want)
