"""Every optimizer against PyTorch's in float64, to 1e-9, over 25 steps with two parameter groups (one
with its own lr and weight decay), a parameter that sometimes has no gradient, and each option; the
state it keeps is PyTorch's, key by key; a state_dict (ours or PyTorch's) resumes the same run. Bad
options are refused by name and change nothing."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_lstm as tl

SHAPES = [(3, 4), (4,), (2, 2)]
HARMLESS = dict(foreach=False)  # how PyTorch runs its step, not what it computes
# ours=: options given to ours only. capturable=True (CUDA graphs) changes nothing here; PyTorch's
# step refuses it on the CPU, so PyTorch runs without it.

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01, maximize=True, foreach=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, fused=False)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1, maximize=True, fused=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, group=dict(momentum=0.0))),  # one group without momentum
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, group=dict(momentum=0.0, centered=False))),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True, maximize=True)),
    (
        "Adam",
        dict(lr=0.02, eps=1e-3, weight_decay=0.2, decoupled_weight_decay=True, ours=dict(capturable=True), **HARMLESS),
    ),
    ("Adam", dict(lr=0.02, weight_decay=0.1, amsgrad=True, fused=True)),  # PyTorch's fused CPU kernel
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True, maximize=True, foreach=True)),
    ("AdamW", dict(lr=0.01, betas=(0.7, 0.9), eps=1e-4, fused=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, centered=True, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01, eps=1e-3, **HARMLESS)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, fused=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-3, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.7, eps=1e-4, weight_decay=0.1, maximize=True, foreach=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.7, 0.95), eps=1e-4, weight_decay=0.1, maximize=True, **HARMLESS)),
    ("Adamax", dict(lr=0.01, ours=dict(capturable=True))),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.95), momentum_decay=0.01, weight_decay=0.1, maximize=True)),
    (
        "NAdam",
        dict(lr=0.01, eps=1e-3, weight_decay=0.2, decoupled_weight_decay=True, ours=dict(capturable=True), **HARMLESS),
    ),
    ("RAdam", dict()),  # rho_t <= 5 for the first 5 steps: both of its branches run
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, maximize=True)),
    ("RAdam", dict(lr=0.01, eps=1e-3, weight_decay=0.2, decoupled_weight_decay=True, capturable=False)),
    ("Rprop", dict()),  # the first group's weight_decay is kept and ignored: Rprop has none
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True, foreach=True)),
    ("Rprop", dict(lr=0.5, step_sizes=(0.7, 0.2), ours=dict(capturable=True), **HARMLESS)),  # min > max: max wins
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=-0.5, t0=3, weight_decay=0.1, maximize=True, foreach=True)),
    ("ASGD", dict(lr=0.1, lambd=0.1, t0=0.5, group=dict(t0=7.0, lambd=0.0), ours=dict(capturable=True))),
    ("Adafactor", dict()),  # a factored (row, column) variance for the 2-D parameters, a full one for the 1-D
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=1.5, weight_decay=0.1, maximize=True)),
    ("Adafactor", dict(lr=0.5, eps=(None, 0.0), group=dict(weight_decay=0.0, d=3.0), foreach=True)),  # rho = 1/sqrt(t)
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    before, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)  # PyTorch keeps step counts and NAdam's product in this dtype
    torch.set_num_threads(1)  # tiny products (Muon's): PyTorch's thread pool only waits on the busy cores
    yield torch
    torch.set_default_dtype(before)
    torch.set_num_threads(threads)


def start(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in SHAPES], [rng.standard_normal(s) for s in SHAPES]


def grouped(params, kw):
    """Two groups: the first with its own lr and weight decay (and ``group``'s options), the second on
    the defaults."""
    first = {"params": params[:1], "lr": kw.get("lr", 0.01) * 0.5, "weight_decay": 0.05, **kw.get("group", {})}
    return [first, {"params": params[1:]}]


def gradient(p: np.ndarray, target: np.ndarray, k: int) -> np.ndarray:
    """A bounded, nonlinear gradient, the same function of the current values in both libraries."""
    return (k + 1) * np.tanh(p - target) + 0.1 * p


def run(opt, params, targets, steps, first=0, to_numpy=np.asarray, set_grad=None):
    """``steps`` steps; parameter 1 has no gradient on every 5th step (the step must skip it)."""
    for t in range(first, first + steps):
        for k, (p, target) in enumerate(zip(params, targets)):
            g = None if (k == 1 and t % 5 == 4) else gradient(to_numpy(p), target, k)
            set_grad(p, g)
        opt.step()


def ours_run(opt, params, targets, steps, first=0):
    def set_grad(p, g):
        p.grad = None if g is None else tl.Tensor(g)

    run(opt, params, targets, steps, first, lambda p: p.data.copy(), set_grad)


def torch_run(torch, opt, params, targets, steps, first=0):
    def set_grad(p, g):
        p.grad = None if g is None else torch.tensor(g)

    run(opt, params, targets, steps, first, lambda p: p.detach().numpy().copy(), set_grad)


def twins(torch, name, kw, seed=0):
    values, targets = start(seed)
    ours = [tl.nn.Parameter(v.copy()) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v.copy())) for v in values]
    options = {k: v for k, v in kw.items() if k not in ("group", "ours")}
    opt = getattr(tl.optim, name)(grouped(ours, kw), **options, **kw.get("ours", {}))
    topt = getattr(torch.optim, name)(grouped(theirs, kw), **options)
    return opt, ours, topt, theirs, targets


def assert_same_state(opt, topt, what, ours_only=()):
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert ours["state"].keys() == theirs["state"].keys(), what
    for k, state in theirs["state"].items():
        assert ours["state"][k].keys() == state.keys(), (what, k)
        for key, value in state.items():
            expected = value.numpy() if hasattr(value, "numpy") else value
            np.testing.assert_allclose(ours["state"][k][key], expected, rtol=1e-9, atol=1e-12, err_msg=f"{what} {key}")
    for group, tgroup in zip(ours["param_groups"], theirs["param_groups"]):
        assert group == {**tgroup, **{k: group[k] for k in ours_only}}, what  # the same options, flags too


@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_every_step_state_and_state_dict_equal_pytorchs(torch, name, kw):
    opt, ours, topt, theirs, targets = twins(torch, name, kw)
    ours_run(opt, ours, targets, 12)
    torch_run(torch, topt, theirs, targets, 12)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9)
    assert_same_state(opt, topt, f"{name} {kw}", tuple(kw.get("ours", {})))
    saved, tsaved = opt.state_dict(), topt.state_dict()

    # a copy resumed from our state_dict, and one from PyTorch's, continue exactly as the original
    resumed = [tl.nn.Parameter(p.data.copy()) for p in ours]
    from_torch = [tl.nn.Parameter(p.data.copy()) for p in ours]
    opt2 = getattr(tl.optim, name)(grouped(resumed, kw), lr=0.123)  # lr and the rest come from the state
    opt2.load_state_dict(saved)
    opt3 = getattr(tl.optim, name)(grouped(from_torch, kw), lr=0.123)
    opt3.load_state_dict(tsaved)
    ours_run(opt, ours, targets, 13, first=12)
    ours_run(opt2, resumed, targets, 13, first=12)
    ours_run(opt3, from_torch, targets, 13, first=12)
    torch_run(torch, topt, theirs, targets, 13, first=12)
    for p, r, f, tp in zip(ours, resumed, from_torch, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(r.data, p.data)
        np.testing.assert_allclose(f.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9)
    assert_same_state(opt, topt, f"{name} {kw} after 25 steps", tuple(kw.get("ours", {})))
    if "ours" not in kw:
        assert repr(opt) == repr(topt)  # print(opt) lists the same options


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad", "NAdam", "Rprop", "ASGD", "Adafactor"])
def test_add_param_group_and_named_parameters_as_pytorchs(torch, name):
    values, targets = start(3)
    ours = [tl.nn.Parameter(v.copy()) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v.copy())) for v in values]
    kw = dict(lr=0.05) if name == "Rprop" else dict(lr=0.05, weight_decay=0.01)
    opt = getattr(tl.optim, name)([("a", ours[0]), ("b", ours[1])], **kw)
    topt = getattr(torch.optim, name)([("a", theirs[0]), ("b", theirs[1])], **kw)
    ours_run(opt, ours[:2], targets, 3)
    torch_run(torch, topt, theirs[:2], targets, 3)
    with pytest.raises(ValueError, match=f"{name}.add_param_group: every group must name its parameters, or none"):
        opt.add_param_group({"params": ours[2]})
    opt.add_param_group({"params": [("c", ours[2])], "lr": 0.2})
    topt.add_param_group({"params": [("c", theirs[2])], "lr": 0.2})
    ours_run(opt, ours, targets, 4, first=3)
    torch_run(torch, topt, theirs, targets, 4, first=3)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9)
    assert_same_state(opt, topt, name)


# ---- bad options: refused by name, nothing changed --------------------------------------------------------
BAD = [
    ("Adam", dict(lr=-0.1), r"^Adam: lr is -0.1, not of the kind Adam takes \(a number >= 0\)"),
    ("NAdam", dict(betas=(0.9, 1.0)), r"^NAdam: betas is \(0.9, 1.0\), not .*\(a pair of numbers in \[0, 1\)\)"),
    ("RAdam", dict(betas=(-0.1, 0.9)), r"^RAdam: betas is \(-0.1, 0.9\)"),
    ("Adamax", dict(betas=(0.9,)), r"^Adamax: betas is \(0.9,\)"),
    ("Adagrad", dict(lr_decay=-1.0), r"^Adagrad: lr_decay is -1.0"),
    ("Adagrad", dict(initial_accumulator_value=-0.5), r"^Adagrad: initial_accumulator_value is -0.5"),
    ("Adadelta", dict(rho=1.5), r"^Adadelta: rho is 1.5, not .*\(a number in \[0, 1\]\)"),
    ("NAdam", dict(momentum_decay=-0.004), r"^NAdam: momentum_decay is -0.004"),
    ("RMSprop", dict(alpha=-0.9), r"^RMSprop: alpha is -0.9"),
    ("RMSprop", dict(eps="1e-8"), r"^RMSprop: eps is '1e-8'"),
    ("SGD", dict(lr=0.1, weight_decay=float("nan")), r"^SGD: weight_decay is nan"),
    ("SGD", dict(lr=0.1, nesterov=True), r"^SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum=0"),
    ("Adam", dict(amsgrad=1), r"^Adam: amsgrad is 1, not of the kind Adam takes \(True or False\)"),
    ("Adam", dict(differentiable=True), r"^Adam: differentiable is True, .*never recorded on the tape"),
    ("AdamW", dict(fused=True, foreach=True), r"^AdamW: fused=True and foreach=True cannot both"),
    ("Adagrad", dict(foreach="yes"), r"^Adagrad: foreach is 'yes', not .*\(None, True or False\)"),
    ("Rprop", dict(lr=-0.01), r"^Rprop: lr is -0.01, not of the kind Rprop takes \(a number >= 0\)"),
    ("Rprop", dict(etas=(1.0, 1.2)), r"^Rprop: etas is \(1.0, 1.2\), not .*\(a pair \(etaminus, etaplus\) with 0 <"),
    ("Rprop", dict(etas=(0.5, 1.0)), r"^Rprop: etas is \(0.5, 1.0\), not .*0 < etaminus < 1 < etaplus"),
    ("Rprop", dict(etas=(0.0, 1.2)), r"^Rprop: etas is \(0.0, 1.2\)"),
    ("Rprop", dict(step_sizes=(1e-6,)), r"^Rprop: step_sizes is \(1e-06,\), not .*\(a pair of numbers \(min, max\)\)"),
    ("ASGD", dict(lr=-0.01), r"^ASGD: lr is -0.01, not of the kind ASGD takes \(a number >= 0\)"),
    ("ASGD", dict(weight_decay=-0.1), r"^ASGD: weight_decay is -0.1, not of the kind ASGD takes \(a number >= 0\)"),
    ("ASGD", dict(t0="1e6"), r"^ASGD: t0 is '1e6', not of the kind ASGD takes \(a number\)"),
    ("Adafactor", dict(beta2_decay=0.1), r"^Adafactor: beta2_decay is 0.1, not .*\(a number <= 0\)"),
    ("Adafactor", dict(d=0.5), r"^Adafactor: d is 0.5, not of the kind Adafactor takes \(a number >= 1\)"),
    ("Adafactor", dict(eps=(-1e-3, 1e-3)), r"^Adafactor: eps is \(-0.001, 0.001\), not .*eps1 may be None\)"),
    ("Adafactor", dict(eps=(None, -1.0)), r"^Adafactor: eps is \(None, -1.0\), not .*\(a pair \(eps1, eps2\)"),
    ("Adafactor", dict(weight_decay=-0.1), r"^Adafactor: weight_decay is -0.1, not"),
    ("Adafactor", dict(lr=-0.1), r"^Adafactor: lr is -0.1, not"),
]


@pytest.mark.parametrize("name, kw, message", BAD, ids=[f"{n}-{next(iter(k))}" for n, k, _ in BAD])
def test_a_bad_option_is_refused_by_name(name, kw, message):
    w = tl.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match=message):
        getattr(tl.optim, name)([w], **kw)


def test_pytorch_refuses_the_same_options(torch):
    """The options refused above are PyTorch's refusals too (bar what PyTorch does not check:
    flags of another type, and differentiable=True, which it can honour and we cannot)."""
    w = torch.zeros(3, requires_grad=True)
    for name, kw, _ in BAD:
        if name == "SGD" and "weight_decay" in kw or "amsgrad" in kw or "differentiable" in kw or "foreach" in kw:
            continue
        if name == "RMSprop" and "eps" in kw or "step_sizes" in kw or "t0" in kw:
            continue  # PyTorch fails only in step() (unpacking step_sizes, 1e6 - '1e6'); here at once
        with pytest.raises((ValueError, RuntimeError, TypeError, IndexError)):
            getattr(torch.optim, name)([w], **kw)


def test_a_bad_group_and_a_single_tensor_are_refused_and_change_nothing():
    a, b, c = (tl.zeros(2, requires_grad=True) for _ in range(3))
    opt = tl.optim.NAdam([a], lr=0.01)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"NAdam.add_param_group: group\['betas'\] is \(1.0, 0.9\)"):
        opt.add_param_group({"params": [b], "betas": (1.0, 0.9)})
    with pytest.raises(ValueError, match=r"NAdam.add_param_group: a parameter appears in more than one group"):
        opt.add_param_group({"params": [c, a]})
    with pytest.raises(TypeError, match=r"NAdam.add_param_group: a parameter group is a dict with 'params'"):
        opt.add_param_group([b])
    assert opt.state_dict() == before and len(opt.param_groups) == 1
    with pytest.raises(TypeError, match=r"RAdam: params must be an iterable of Tensors .* write \[w\]"):
        tl.optim.RAdam(a)
    with pytest.raises(ValueError, match=r"^Adagrad: param_groups\[1\]\['lr_decay'\] is -0.1, not of the kind"):
        tl.optim.Adagrad([{"params": [a]}, {"params": [b], "lr_decay": -0.1}])
    with pytest.raises(ValueError, match=r"^SGD: a parameter appears in more than one group"):
        tl.optim.SGD([{"params": [a]}, {"params": [b, a]}])


def _stepped(name, **kw):
    w = tl.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = getattr(tl.optim, name)([w], **kw)
    w.grad = tl.Tensor(np.array([0.5, 0.25]))
    opt.step()
    return w, opt


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("NAdam", lambda s: s["state"][0].update(mu_prodcut=0.5), r"has keys NAdam does not keep: \['mu_prodcut'\]"),
        ("NAdam", lambda s: s["state"][0].pop("mu_product"), r"\['mu_product'\] must be a number, got 'nothing"),
        ("Adagrad", lambda s: s["state"][0].update(sum=np.ones(3)), r"\['sum'\] must be an array of .* \(2,\)"),
        ("Adadelta", lambda s: s["state"][0].update(step=1.5), r"\['step'\] must be a whole number >= 0, got 1.5"),
        ("Adamax", lambda s: s["param_groups"][0].update(lr=-1.0), r"param_groups\[0\]\['lr'\] is -1.0, not"),
        ("RAdam", lambda s: s["param_groups"][0].update(betas=(0.9, 1.0)), r"\['betas'\] is \(0.9, 1.0\)"),
        ("Adam", lambda s: s["param_groups"][0].update(differentiable=True), r"\['differentiable'\] is True"),
        ("Rprop", lambda s: s["state"][0].update(prev=np.ones(3)), r"\['prev'\] must be an array of .* \(2,\)"),
        ("Rprop", lambda s: s["param_groups"][0].update(etas=(0.5, 0.9)), r"\['etas'\] is \(0.5, 0.9\), not"),
        ("ASGD", lambda s: s["state"][0].pop("eta"), r"\['eta'\] must be a number, got 'nothing"),
        ("ASGD", lambda s: s["state"][0].update(mu="1"), r"\['mu'\] must be a number, got '1'"),
        ("Adafactor", lambda s: s["state"][0].update(variance=np.ones(3)), r"\['variance'\] must be an array of"),
        (
            "Adafactor",
            lambda s: s["state"][0].update(row_var=np.ones((2, 1))),
            r"must hold \['variance'\] for a parameter of shape \(2,\), got \['row_var', 'variance'\]",
        ),
    ],
    ids=[
        "unknown-key",
        "missing-number",
        "array-shape",
        "step",
        "negative-lr",
        "beta2=1",
        "differentiable",
        "Rprop-prev",
        "Rprop-etas",
        "ASGD-eta",
        "ASGD-mu",
        "Adafactor-variance",
        "Adafactor-factored",
    ],  # fmt: skip
)
def test_a_bad_state_is_refused_at_load_by_name_and_changes_nothing(name, change, message):
    w, opt = _stepped(name)
    saved = opt.state_dict()
    bad = opt.state_dict()
    change(bad)
    with pytest.raises(ValueError, match=rf"^{name}\.load_state_dict: .*{message}.*nothing was changed"):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["param_groups"] == saved["param_groups"]
    assert re.sub(r"array\(.*?\)", "", repr(after["state"])) == re.sub(r"array\(.*?\)", "", repr(saved["state"]))
    for key, value in saved["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value)


# ---- the optimizers added after the first nine: saved with tl.save, under a schedule ---------------------
SAVED = [
    ("Rprop", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, t0=2, lambd=0.01)),
    ("Adafactor", dict(lr=0.05, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, kw", SAVED, ids=[n for n, _ in SAVED])
def test_state_saved_with_tl_save_resumes_the_same_run(tmp_path, name, kw):
    values, targets = start(5)
    ours = [tl.nn.Parameter(v.copy()) for v in values]
    opt = getattr(tl.optim, name)(grouped(ours, kw), **kw)
    ours_run(opt, ours, targets, 6)
    tl.save(opt.state_dict(), tmp_path / "opt.pth")
    resumed = [tl.nn.Parameter(p.data.copy()) for p in ours]
    opt2 = getattr(tl.optim, name)(grouped(resumed, kw), lr=0.5)
    opt2.load_state_dict(tl.load(tmp_path / "opt.pth"))
    ours_run(opt, ours, targets, 6, first=6)
    ours_run(opt2, resumed, targets, 6, first=6)
    for p, r in zip(ours, resumed):
        np.testing.assert_array_equal(r.data, p.data)


@pytest.mark.parametrize("name, kw", SAVED, ids=[n for n, _ in SAVED])
def test_a_schedule_drives_them_as_pytorchs(torch, name, kw):
    opt, ours, topt, theirs, targets = twins(torch, name, kw)
    run_scheduled(torch, "StepLR", dict(step_size=2, gamma=0.5), 8, opt, ours, topt, theirs, targets)
    assert_same_state(opt, topt, name)


def run_scheduled(torch, schedule_name, options, steps, opt, ours, topt, theirs, targets):
    """``steps`` steps under the same schedule in both libraries: the learning rates equal at each
    step, the parameters to 1e-9 at the end."""
    schedule = getattr(tl.optim.lr_scheduler, schedule_name)(opt, **options)
    tschedule = getattr(torch.optim.lr_scheduler, schedule_name)(topt, **options)
    for t in range(steps):
        ours_run(opt, ours, targets, 1, first=t)
        torch_run(torch, topt, theirs, targets, 1, first=t)
        schedule.step()
        tschedule.step()
        assert schedule.get_last_lr() == tschedule.get_last_lr()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9)


# ---- LBFGS: step(closure) on small nonconvex losses, against PyTorch ----------------------------------------
def rosenbrock(lib, params):
    (x,) = params
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def mlp(lib, params):
    w1, b1, w2, b2 = params
    rng = np.random.default_rng(7)
    inputs, targets = rng.standard_normal((6, 3)), rng.standard_normal((6, 1))
    as_tensor = tl.Tensor if lib is tl else lib.tensor
    out = (as_tensor(inputs) @ w1.T + b1).tanh() @ w2.T + b2
    return ((out - as_tensor(targets)) ** 2).mean()


PROBLEMS = {
    "rosenbrock": (rosenbrock, lambda rng: [np.array([-1.5, 2.0])]),
    "mlp": (mlp, lambda rng: [rng.standard_normal(s) for s in [(4, 3), (4,), (1, 4), (1,)]]),
}
LBFGS_CASES = [
    ("rosenbrock", dict(lr=0.5, max_iter=7, history_size=5)),
    ("rosenbrock", dict(line_search_fn="strong_wolfe", max_iter=4, history_size=3)),
    ("mlp", dict(max_iter=5, history_size=2, lr=0.8)),
    ("mlp", dict(line_search_fn="strong_wolfe", max_iter=8, max_eval=9)),
    ("mlp", dict(line_search_fn="strong_wolfe", tolerance_change=1e-3, tolerance_grad=1e-2)),  # stops early
    ("rosenbrock", dict(line_search_fn="strong_wolfe", lr=0.01, max_iter=3)),  # too short a step: extrapolates
    ("mlp", dict(line_search_fn="strong_wolfe", lr=2, max_iter=3)),  # a trial past the minimum: brackets it
    # too long: brackets, then zooms (the cubic without a minimum; the bracket's ends swapped; trials moved
    # off its ends)
    ("rosenbrock", dict(line_search_fn="strong_wolfe", lr=2, max_iter=5)),
    ("rosenbrock", dict(line_search_fn="strong_wolfe", lr=4, max_iter=6)),
    ("mlp", dict(line_search_fn="strong_wolfe", lr=100, max_iter=6)),
    ("mlp", dict(line_search_fn="strong_wolfe", lr=30, max_iter=3, max_eval=3)),  # the search runs out
]


def lbfgs_twins(torch, problem, kw):
    loss_of, values = PROBLEMS[problem]
    values = values(np.random.default_rng(0))
    ours = [tl.nn.Parameter(v.copy()) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v.copy())) for v in values]
    opt, topt = tl.optim.LBFGS(ours, **kw), torch.optim.LBFGS(theirs, **kw)
    return opt, ours, topt, theirs, loss_of


def closure_for(lib, opt, params, loss_of):
    def closure():
        opt.zero_grad()
        loss = loss_of(lib, params)
        loss.backward()
        return loss

    return closure


def assert_same_values(ours, theirs, what):
    """Nested lists, numbers, None, arrays against PyTorch's tensors, to 1e-9."""
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), what
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_values(a, b, f"{what}[{i}]")
    elif theirs is None:
        assert ours is None, what
    else:
        expected = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
        np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-9, err_msg=what)


def assert_same_lbfgs(opt, ours, topt, theirs, what):
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9, err_msg=what)
    mine, torchs = opt.state_dict(), topt.state_dict()
    assert mine["param_groups"] == torchs["param_groups"], what
    assert mine["state"].keys() == torchs["state"].keys() == {0}, what
    assert list(mine["state"][0]) == list(torchs["state"][0]), what  # the same keys, in PyTorch's order
    for key, value in torchs["state"][0].items():
        assert_same_values(mine["state"][0][key], value, f"{what} {key}")


@pytest.mark.parametrize("problem, kw", LBFGS_CASES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(LBFGS_CASES)])
def test_lbfgs_steps_losses_and_state_equal_pytorchs(torch, problem, kw):
    opt, ours, topt, theirs, loss_of = lbfgs_twins(torch, problem, kw)
    closure, tclosure = closure_for(tl, opt, ours, loss_of), closure_for(torch, topt, theirs, loss_of)
    for k in range(3):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        assert isinstance(loss, tl.Tensor)  # the closure's first loss, as it returned it
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-9)
        assert_same_lbfgs(opt, ours, topt, theirs, f"{problem} {kw} step {k}")
    assert repr(opt) == repr(topt)
    assert float(loss_of(tl, ours)) < float(
        loss_of(tl, [tl.Tensor(v) for v in PROBLEMS[problem][1](np.random.default_rng(0))])
    )

    # resumed from our state_dict and from PyTorch's, a copy continues as the original and PyTorch
    saved, tsaved = opt.state_dict(), topt.state_dict()
    copies = []
    for state in (saved, tsaved):
        params = [tl.nn.Parameter(p.data.copy()) for p in ours]
        other = tl.optim.LBFGS(params, lr=0.123, history_size=50)
        other.load_state_dict(state)
        copies.append((other, params))
    for k in range(2):
        opt.step(closure)
        topt.step(tclosure)
        for other, params in copies:
            other.step(closure_for(tl, other, params, loss_of))
        assert_same_lbfgs(opt, ours, topt, theirs, f"{problem} {kw} resumed step {k}")
        (mine, params), (from_torch, torch_params) = copies
        for p, q, r, tp in zip(params, ours, torch_params, theirs):
            np.testing.assert_array_equal(p.data, q.data)
            np.testing.assert_allclose(r.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9)


def test_lbfgs_at_a_minimum_evaluates_once_and_keeps_only_the_counts(torch):
    """Where the gradient is already below tolerance_grad, one evaluation and no iteration (PyTorch's)."""
    opt, ours, topt, theirs, loss_of = lbfgs_twins(torch, "rosenbrock", dict(tolerance_grad=1e-7))
    ours[0].data[:] = 1.0
    with torch.no_grad():
        theirs[0][:] = 1.0
    opt.step(closure_for(tl, opt, ours, loss_of))
    topt.step(closure_for(torch, topt, theirs, loss_of))
    assert opt.state_dict()["state"] == {0: {"func_evals": 1, "n_iter": 0}}
    assert_same_lbfgs(opt, ours, topt, theirs, "at the minimum")


def test_lbfgs_under_a_schedule_and_through_tl_save(torch, tmp_path):
    kw = dict(lr=0.5, max_iter=4, history_size=3)
    opt, ours, topt, theirs, loss_of = lbfgs_twins(torch, "mlp", kw)
    schedule = tl.optim.lr_scheduler.ExponentialLR(opt, gamma=0.7)
    tschedule = torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.7)
    for _ in range(3):
        opt.step(closure_for(tl, opt, ours, loss_of))
        topt.step(closure_for(torch, topt, theirs, loss_of))
        schedule.step()
        tschedule.step()
        assert schedule.get_last_lr() == tschedule.get_last_lr()
    assert_same_lbfgs(opt, ours, topt, theirs, "scheduled")
    tl.save(opt.state_dict(), tmp_path / "lbfgs.pth")
    params = [tl.nn.Parameter(p.data.copy()) for p in ours]
    again = tl.optim.LBFGS(params)
    again.load_state_dict(tl.load(tmp_path / "lbfgs.pth"))
    opt.step(closure_for(tl, opt, ours, loss_of))
    again.step(closure_for(tl, again, params, loss_of))
    for p, q in zip(params, ours):
        np.testing.assert_array_equal(p.data, q.data)


def test_lbfgs_refuses_what_pytorchs_refuses_and_changes_nothing(torch):
    a, b = tl.zeros(2, requires_grad=True), tl.zeros(3, requires_grad=True)
    ta = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"^LBFGS doesn't support per-parameter options \(parameter groups\)"):
        tl.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        torch.optim.LBFGS([{"params": [ta]}, {"params": [torch.zeros(3, requires_grad=True)]}])
    with pytest.raises(ValueError, match=r"^LBFGS: lr is -1, not of the kind LBFGS takes \(a number >= 0\)"):
        tl.optim.LBFGS([a], lr=-1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        torch.optim.LBFGS([ta], lr=-1)
    opt = tl.optim.LBFGS([a])
    with pytest.raises(ValueError, match=r"^LBFGS.add_param_group: LBFGS has one parameter group only"):
        opt.add_param_group({"params": [b]})
    assert len(opt.param_groups) == 1
    topt = torch.optim.LBFGS([ta])
    topt.add_param_group({"params": [torch.zeros(3, requires_grad=True)]})  # PyTorch adds it, then fails in step
    with pytest.raises(AssertionError, match="Expected exactly one param_group"):
        topt.step(lambda: ta.sum())
    with pytest.raises(TypeError, match=r"^LBFGS.step: needs a closure that clears the gradients"):
        opt.step()
    with pytest.raises(TypeError):
        torch.optim.LBFGS([ta]).step()
    # PyTorch fails in step() on these (IndexError, RuntimeError "only 'strong_wolfe' is supported"): here at once
    with pytest.raises(ValueError, match=r"^LBFGS: history_size is 0, not .*\(a whole number >= 1\)"):
        tl.optim.LBFGS([a], history_size=0)
    with pytest.raises(ValueError, match=r"^LBFGS: line_search_fn is 'wolfe', not .*\(None or 'strong_wolfe'\)"):
        tl.optim.LBFGS([a], line_search_fn="wolfe")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        x = torch.nn.Parameter(torch.ones(2))
        bad = torch.optim.LBFGS([x], line_search_fn="wolfe")
        bad.step(closure_for(torch, bad, [x], lambda lib, ps: (ps[0] ** 2).sum()))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.update(n_iter=-1), r"\['n_iter'\] must be a whole number >= 0, got -1"),
        (lambda s: s.update(d=np.ones(3)), r"\['d'\] must be a flat array of the parameters' 2 elements, got shape"),
        (lambda s: s["old_dirs"].append(np.ones(2)), r"old_dirs, old_stps and ro must be as long as one another"),
        (lambda s: s.update(ro=["x"] * len(s["ro"])), r"\['ro'\] must be a list of numbers"),
        (lambda s: s.update(H_diag="1"), r"\['H_diag'\] must be a number, got '1'"),
        (lambda s: s.update(old_dir=[]), r"has keys LBFGS does not keep: \['old_dir'\]"),
    ],
    ids=["n_iter", "d", "lengths", "ro", "H_diag", "unknown-key"],
)
def test_a_bad_lbfgs_state_is_refused_at_load_and_changes_nothing(change, message):
    x = tl.nn.Parameter(np.array([-1.5, 2.0]))
    opt = tl.optim.LBFGS([x], max_iter=4)
    opt.step(closure_for(tl, opt, [x], rosenbrock))
    saved = opt.state_dict()
    bad = opt.state_dict()
    change(bad["state"][0])
    with pytest.raises(ValueError, match=rf"^LBFGS\.load_state_dict: state\[0\].*{message}.*nothing was changed"):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["state"][0].keys() == saved["state"][0].keys()
    assert_same_values(after["state"][0]["old_dirs"], saved["state"][0]["old_dirs"], "old_dirs")


def test_lbfgs_cubic_interpolation_is_the_cubics_minimiser():
    """The line search's trial step: the minimiser of the cubic through two points with their slopes
    (found here by solving for its coefficients), clamped to the bounds; the bounds' midpoint where the
    cubic has no minimum."""
    from tinygrad_lstm.optim.lbfgs import _cubic_interpolate

    rng = np.random.default_rng(4)
    for _ in range(50):
        x1, x2 = rng.uniform(-2, 2, 2)
        f1, g1, f2, g2 = rng.standard_normal(4)
        # f(x) = a x^3 + b x^2 + c x + e through (x1, f1, g1) and (x2, f2, g2)
        rows = [[x**3, x**2, x, 1] for x in (x1, x2)] + [[3 * x**2, 2 * x, 1, 0] for x in (x1, x2)]
        a, b, c, _ = np.linalg.solve(np.array(rows), [f1, f2, g1, g2])
        low, high = min(x1, x2), max(x1, x2)
        disc = b * b - 3 * a * c
        if disc < 0:  # f' has no root: no minimum
            assert _cubic_interpolate(x1, f1, g1, x2, f2, g2) == pytest.approx((low + high) / 2)
            continue
        roots = (-b + np.array([1, -1]) * np.sqrt(disc)) / (3 * a)
        minimiser = roots[6 * a * roots + 2 * b > 0][0]  # f'' > 0 there
        expected = min(max(minimiser, low), high)
        assert _cubic_interpolate(x1, f1, g1, x2, f2, g2) == pytest.approx(expected, rel=1e-7, abs=1e-9)
    assert _cubic_interpolate(0.0, 0.0, 1.0, 1.0, 2 / 3, 1.0, bounds=(0.2, 0.4)) == pytest.approx(0.3)


def test_lbfgs_refuses_a_read_only_parameter_before_evaluating():
    x = tl.nn.Parameter(np.array([-1.5, 2.0]))
    opt = tl.optim.LBFGS([x])
    x.data.flags.writeable = False
    calls = []
    with pytest.raises(ValueError, match=r"^LBFGS.step: parameter 0 of shape \(2,\): its array is read-only"):
        opt.step(lambda: calls.append(1))
    assert not calls and opt.state_dict()["state"] == {}


@pytest.mark.parametrize("eps", [(1e-3, 1e-3), (None, 1e-3)])
def test_adafactor_on_small_gradients_and_3d_and_0d_parameters_as_pytorchs(torch, eps):
    """Gradients small enough that eps1 clamps the variance estimate and its row mean; a 3-D parameter
    (factored over its last two dimensions, per leading index) and a 0-D one (a full variance)."""
    rng = np.random.default_rng(2)
    values = [rng.standard_normal(s) for s in [(2, 3, 4), (5,), ()]]
    scales = [rng.uniform(1e-5, 1e-2, v.shape) for v in values]
    ours = [tl.nn.Parameter(v.copy()) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v.copy())) for v in values]
    opt = tl.optim.Adafactor(ours, lr=0.05, eps=eps, weight_decay=0.01)
    topt = torch.optim.Adafactor(theirs, lr=0.05, eps=eps, weight_decay=0.01)
    for t in range(6):
        for p, tp, scale in zip(ours, theirs, scales):
            g = scale * np.sin(p.data * (t + 1))
            p.grad, tp.grad = tl.Tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert_same_state(opt, topt, f"Adafactor eps={eps}")
    assert opt.state[ours[0]]["row_var"].shape == (2, 3, 1) and opt.state[ours[0]]["col_var"].shape == (2, 1, 4)


# ---- Muon: 2-D parameters, Newton-Schulz in bfloat16 as PyTorch's ----------------------------------------
MUON_SHAPES = [(3, 4), (4, 3), (2, 2), (5, 3)]  # wide, tall (orthogonalised transposed), square
MUON_CASES = [
    dict(),
    dict(lr=0.02, momentum=0.9, nesterov=False, weight_decay=0.0, adjust_lr_fn="original"),
    dict(lr=0.01, adjust_lr_fn="match_rms_adamw", ns_steps=3, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3),
    dict(lr=0.05, momentum=0.0, ns_steps=0, group=dict(momentum=0.5, nesterov=False)),
]


def muon_twins(torch, kw):
    rng = np.random.default_rng(11)
    values, targets = [rng.standard_normal(s) for s in MUON_SHAPES], [rng.standard_normal(s) for s in MUON_SHAPES]
    ours = [tl.nn.Parameter(v.copy()) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v.copy())) for v in values]
    options = {k: v for k, v in kw.items() if k != "group"}
    opt = tl.optim.Muon(grouped(ours, kw), **options)
    topt = torch.optim.Muon(grouped(theirs, kw), **options)
    return opt, ours, topt, theirs, targets


@pytest.mark.parametrize("kw", MUON_CASES, ids=[f"Muon-{i}" for i in range(len(MUON_CASES))])
def test_muon_every_step_and_state_equal_pytorchs(torch, kw):
    opt, ours, topt, theirs, targets = muon_twins(torch, kw)
    ours_run(opt, ours, targets, 8)
    torch_run(torch, topt, theirs, targets, 8)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9)
    assert_same_state(opt, topt, f"Muon {kw}")
    assert repr(opt) == repr(topt)
    saved, tsaved = opt.state_dict(), topt.state_dict()
    copies = []
    for state in (saved, tsaved):
        params = [tl.nn.Parameter(p.data.copy()) for p in ours]
        other = tl.optim.Muon(grouped(params, kw), lr=0.5)
        other.load_state_dict(state)
        copies.append(params)
        ours_run(other, params, targets, 4, first=8)
    ours_run(opt, ours, targets, 4, first=8)
    torch_run(torch, topt, theirs, targets, 4, first=8)
    for p, tp, a, b in zip(ours, theirs, *copies):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(a.data, p.data)
        np.testing.assert_allclose(b.data, p.data, rtol=1e-9, atol=1e-9)


def test_muon_newton_schulz_nearly_orthogonalises():
    """Five iterations leave every singular value of the update within PyTorch's documented band of 1
    (US'V^T with S' about Uniform(0.5, 1.5)), and the singular vectors those of the input."""
    from tinygrad_lstm.optim.muon import newton_schulz

    rng = np.random.default_rng(3)
    for shape in [(4, 6), (6, 4), (5, 5)]:
        g = rng.standard_normal(shape)
        out = newton_schulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7)
        u, s, vt = np.linalg.svd(g, full_matrices=False)
        singular = np.linalg.svd(out, compute_uv=False)
        assert np.all((singular > 0.5) & (singular < 1.5)), singular
        np.testing.assert_allclose(u.T @ out @ vt.T, np.diag(np.diag(u.T @ out @ vt.T)), atol=0.05)


def test_muon_refuses_what_pytorchs_refuses(torch):
    w, b = tl.zeros((3, 2), requires_grad=True), tl.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"^Muon: Muon only supports 2D parameters, got one of shape \(3,\); optimise"):
        tl.optim.Muon([w, b])
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        torch.optim.Muon([torch.zeros(3, requires_grad=True)])
    opt = tl.optim.Muon([w])
    with pytest.raises(ValueError, match=r"^Muon.add_param_group: Muon only supports 2D parameters.*nothing was added"):
        opt.add_param_group({"params": (p for p in [b])})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": (p for p in [tl.zeros((2, 2), requires_grad=True)]), "lr": 0.1})
    assert len(opt.param_groups[1]["params"]) == 1  # a generator of parameters is read once, kept whole
    refused = [
        (dict(lr=-1.0), r"^Muon: lr is -1.0, not of the kind Muon takes \(a number >= 0\)"),
        (dict(momentum=-0.5), r"^Muon: momentum is -0.5, not"),
        (dict(weight_decay=-0.1), r"^Muon: weight_decay is -0.1, not"),
        (dict(adjust_lr_fn="rms"), r"^Muon: adjust_lr_fn is 'rms', not .*\(None, 'original' or 'match_rms_adamw'\)"),
    ]
    for kw, message in refused:
        with pytest.raises(ValueError, match=message):
            tl.optim.Muon([w], **kw)
        with pytest.raises(ValueError):
            torch.optim.Muon([torch.zeros((3, 2), requires_grad=True)], **kw)
    # PyTorch fails in step() on these ("must be less than 100", "exactly 3 values"); here when made
    with pytest.raises(ValueError, match=r"^Muon: ns_steps is 100, not .*\(a whole number below 100\)"):
        tl.optim.Muon([w], ns_steps=100)
    with pytest.raises(ValueError, match=r"^Muon: ns_coefficients is \(1.0, 2.0\), not .*\(three numbers"):
        tl.optim.Muon([w], ns_coefficients=(1.0, 2.0))
    tw = torch.nn.Parameter(torch.ones((3, 2)))
    for kw in (dict(ns_steps=100), dict(ns_coefficients=(1.0, 2.0))):
        topt = torch.optim.Muon([tw], **kw)
        tw.grad = torch.ones((3, 2))
        with pytest.raises(ValueError):
            topt.step()


def test_muon_with_a_group_added_under_a_schedule_and_through_tl_save(torch, tmp_path):
    opt, ours, topt, theirs, targets = muon_twins(torch, dict(lr=0.02))
    extra = np.random.default_rng(5).standard_normal((2, 3))
    ours.append(tl.nn.Parameter(extra.copy()))
    theirs.append(torch.nn.Parameter(torch.tensor(extra.copy())))
    targets.append(np.zeros((2, 3)))
    opt.add_param_group({"params": ours[-1:], "lr": 0.05, "adjust_lr_fn": "match_rms_adamw"})
    topt.add_param_group({"params": theirs[-1:], "lr": 0.05, "adjust_lr_fn": "match_rms_adamw"})
    run_scheduled(torch, "CosineAnnealingLR", dict(T_max=4), 6, opt, ours, topt, theirs, targets)
    assert_same_state(opt, topt, "Muon scheduled")
    tl.save(opt.state_dict(), tmp_path / "muon.pth")
    params = [tl.nn.Parameter(p.data.copy()) for p in ours]
    again = tl.optim.Muon(grouped(params[:-1], {}))
    again.add_param_group({"params": params[-1:]})
    again.load_state_dict(tl.load(tmp_path / "muon.pth"))
    ours_run(opt, ours, targets, 3, first=6)
    ours_run(again, params, targets, 3, first=6)
    for p, q in zip(params, ours):
        np.testing.assert_array_equal(p.data, q.data)


def test_muon_bfloat16_newton_schulz_is_pytorchs_on_many_small_matrices(torch):
    """150 matrices of 2 to 5 rows and columns: bfloat16 rounds ties to even, so a product summed in
    another order or rounded twice moves an entry by a bfloat16 step (~4e-3), far past 1e-9."""
    rng = np.random.default_rng(8)
    values = [rng.standard_normal(rng.integers(2, 6, size=2)) for _ in range(150)]
    ours = [tl.nn.Parameter(v.copy()) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v.copy())) for v in values]
    opt = tl.optim.Muon(ours, lr=1.0, momentum=0.5, weight_decay=0.0)
    topt = torch.optim.Muon(theirs, lr=1.0, momentum=0.5, weight_decay=0.0)
    for _ in range(2):
        for p, tp in zip(ours, theirs):
            g = np.cos(3 * p.data)
            p.grad, tp.grad = tl.Tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-9)
