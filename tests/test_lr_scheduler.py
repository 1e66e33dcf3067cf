"""Learning-rate schedules against PyTorch's, step by step, and their state_dict round trip."""

import math

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.optim import lr_scheduler as sched

torch = pytest.importorskip("torch")

CASES = {
    "StepLR": (lambda m, o: m.StepLR(o, step_size=3, gamma=0.5), "SGD"),
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), "SGD"),
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.9), "SGD"),
    "CosineAnnealingLR": (lambda m, o: m.CosineAnnealingLR(o, T_max=5, eta_min=0.01), "SGD"),
    "LambdaLR": (lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 1 / (1 + e), lambda e: 0.95**e]), "SGD"),
    "OneCycleLR": (lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=20), "SGD"),
    "OneCycleLR-linear-3phase": (
        lambda m, o: m.OneCycleLR(
            o, max_lr=0.3, epochs=4, steps_per_epoch=5, anneal_strategy="linear", three_phase=True
        ),
        "Adam",
    ),
    "MultiplicativeLR": (lambda m, o: m.MultiplicativeLR(o, lr_lambda=[lambda e: 0.95, lambda e: 1 - 0.01 * e]), "SGD"),
    "ConstantLR": (lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4), "SGD"),
    "LinearLR-warmup": (lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=7), "SGD"),
    "LinearLR-decay": (lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10), "Adam"),
    "PolynomialLR": (lambda m, o: m.PolynomialLR(o, total_iters=10, power=2.0), "SGD"),
    "CosineAnnealingWarmRestarts": (
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
        "SGD",
    ),
    "CosineAnnealingWarmRestarts-T_mult=1": (lambda m, o: m.CosineAnnealingWarmRestarts(o, 4), "Adam"),
    "CyclicLR-triangular": (
        lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5),
        "SGD",
    ),
    "CyclicLR-triangular2-beta1": (
        lambda m, o: m.CyclicLR(o, 0.001, [0.1, 0.05], step_size_up=4, mode="triangular2", base_momentum=0.85),
        "Adam",
    ),
    "CyclicLR-exp_range": (
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=2, mode="exp_range", gamma=0.9, cycle_momentum=False),
        "SGD",
    ),
    "CyclicLR-scale_fn": (
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, 3, scale_fn=lambda x: 1 / (1 + 0.1 * x), scale_mode="iterations"),
        "RMSprop",
    ),
    "SequentialLR": (
        lambda m, o: m.SequentialLR(
            o,
            [m.LinearLR(o, start_factor=0.1, total_iters=4), m.ExponentialLR(o, 0.9), m.CosineAnnealingLR(o, 5)],
            milestones=[4, 10],
        ),
        "SGD",
    ),
    "SequentialLR-closed-forms": (
        lambda m, o: m.SequentialLR(
            o,
            [m.StepLR(o, 2, 0.5), m.ConstantLR(o, 0.5, 3), m.MultiStepLR(o, [0, 1, 3]), m.PolynomialLR(o, 8)],
            [5, 9, 14],
        ),
        "Adam",
    ),
    "SequentialLR-exponential-first": (
        lambda m, o: m.SequentialLR(o, [m.ExponentialLR(o, 0.8), m.LinearLR(o, 0.5, total_iters=3)], [5]),
        "SGD",
    ),
    "SequentialLR-then-restarts": (
        lambda m, o: m.SequentialLR(
            o, [m.LambdaLR(o, lambda e: (e + 1) / 3), m.CosineAnnealingWarmRestarts(o, 4, 2)], milestones=[3]
        ),
        "SGD",
    ),
    "ChainedScheduler": (lambda m, o: m.ChainedScheduler([m.ConstantLR(o, 0.5, 3), m.ExponentialLR(o, 0.9)]), "SGD"),
    "ChainedScheduler-optimizer": (
        lambda m, o: m.ChainedScheduler([m.LinearLR(o, 0.2, total_iters=5), m.StepLR(o, 4, 0.5)], o),
        "Adam",
    ),
}


def optimizers(kind: str):
    """The same two parameter groups in both libraries."""
    mine = [tl.zeros(2, requires_grad=True), tl.zeros(3, requires_grad=True)]
    theirs = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    groups = lambda ps: [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}]  # noqa: E731
    if kind == "SGD":
        return tl.optim.SGD(groups(mine), lr=0.1, momentum=0.9), torch.optim.SGD(groups(theirs), lr=0.1, momentum=0.9)
    if kind == "RMSprop":
        return tl.optim.RMSprop(groups(mine), momentum=0.5), torch.optim.RMSprop(groups(theirs), momentum=0.5)
    return tl.optim.Adam(groups(mine), lr=0.1), torch.optim.Adam(groups(theirs), lr=0.1)


def momenta(opt) -> list:
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


@pytest.mark.parametrize("case", CASES)
def test_rates_and_momenta_equal_pytorchs_step_by_step(case):
    build, kind = CASES[case]
    mine_opt, torch_opt = optimizers(kind)
    mine, theirs = build(sched, mine_opt), build(torch.optim.lr_scheduler, torch_opt)
    steps = 20 if "OneCycle" in case else 25
    for _ in range(steps):
        assert mine.get_last_lr() == theirs.get_last_lr()  # bit for bit: the same arithmetic
        assert momenta(mine_opt) == momenta(torch_opt)
        mine_opt.step()
        torch_opt.step()
        mine.step()
        theirs.step()
    if not case.startswith("Chained"):  # (a chain keeps no epoch of its own, in PyTorch neither)
        assert mine.last_epoch == theirs.last_epoch == steps


def test_reduce_lr_on_plateau_equals_pytorchs():
    losses = [1.0, 0.9, 0.9, 0.91, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    for kw in (dict(patience=2, cooldown=1), dict(mode="max", factor=0.5, patience=1, threshold_mode="abs")):
        mine_opt, torch_opt = optimizers("SGD")
        mine = sched.ReduceLROnPlateau(mine_opt, min_lr=[0.0, 0.004], **kw)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, min_lr=[0.0, 0.004], **kw)
        seen = set()
        for loss in losses:
            mine.step(tl.tensor(loss))  # a 0-d tensor, as a validation loss usually is
            theirs.step(loss)
            assert mine.get_last_lr() == theirs.get_last_lr()
            seen.add(tuple(mine.get_last_lr()))
        assert len(seen) > 1  # the rate did change


@pytest.mark.parametrize(
    "case",
    [
        "CosineAnnealingLR",
        "OneCycleLR",
        "StepLR",
        "LinearLR-warmup",
        "CosineAnnealingWarmRestarts",
        "CyclicLR-triangular2-beta1",
        "SequentialLR",
        "ChainedScheduler",
    ],
)
def test_state_dict_resumes_the_same_schedule(case):
    build, kind = CASES[case]
    opt, _ = optimizers(kind)
    first = build(sched, opt)
    for _ in range(4):
        opt.step()
        first.step()
    saved_sched, saved_opt = first.state_dict(), opt.state_dict()
    expected = []
    for _ in range(5):
        opt.step()
        first.step()
        expected.append(first.get_last_lr())

    resumed_opt, _ = optimizers(kind)
    resumed = build(sched, resumed_opt)
    resumed_opt.load_state_dict(saved_opt)
    resumed.load_state_dict(saved_sched)
    got = []
    for _ in range(5):
        resumed_opt.step()
        resumed.step()
        got.append(resumed.get_last_lr())
    assert got == expected


def test_warm_restarts_at_fractional_epochs_equal_pytorchs():
    """``step(epoch + i / batches)``, the way PyTorch's documentation anneals within an epoch, and
    epochs given out of order (a jump back restarts the period)."""
    mine_opt, torch_opt = optimizers("SGD")
    mine = sched.CosineAnnealingWarmRestarts(mine_opt, T_0=2, T_mult=3, eta_min=0.01)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(torch_opt, T_0=2, T_mult=3, eta_min=0.01)
    epochs = [e + i / 4 for e in range(9) for i in range(4)] + [3, 0.5, 14, 2]
    for epoch in epochs:
        mine_opt.step()
        torch_opt.step()
        mine.step(epoch)
        theirs.step(epoch)
        assert mine.get_last_lr() == theirs.get_last_lr(), epoch
        assert (mine.T_cur, mine.T_i, mine.last_epoch) == (theirs.T_cur, theirs.T_i, theirs.last_epoch), epoch


@pytest.mark.parametrize("case", ["StepLR", "ExponentialLR", "LinearLR-warmup", "LambdaLR", "PolynomialLR"])
def test_the_deprecated_step_epoch_jumps_as_pytorchs_does(case):
    build, kind = CASES[case]
    mine_opt, torch_opt = optimizers(kind)
    mine, theirs = build(sched, mine_opt), build(torch.optim.lr_scheduler, torch_opt)
    for epoch in [1, 2, 5, 3, 12, 0, 7]:
        mine_opt.step()
        torch_opt.step()
        with pytest.warns(UserWarning, match="deprecated"):
            mine.step(epoch)
        with pytest.warns(UserWarning):
            theirs.step(epoch)
        assert mine.get_last_lr() == theirs.get_last_lr() and mine.last_epoch == theirs.last_epoch == epoch


RESUMABLE = ["LinearLR-warmup", "ConstantLR", "PolynomialLR", "MultiplicativeLR", "CosineAnnealingWarmRestarts"]


@pytest.mark.parametrize("case", RESUMABLE + ["CyclicLR-triangular", "CosineAnnealingLR", "StepLR"])
def test_made_again_with_last_epoch_after_loading_the_optimizer_as_pytorchs(case):
    """The other way to resume: load the optimizer's state (which has initial_lr), then make the
    schedule with ``last_epoch`` where it stopped."""
    build, kind = CASES[case]
    runs = []
    for lib, module in ((tl, sched), (torch, torch.optim.lr_scheduler)):
        opt = optimizers(kind)[0 if lib is tl else 1]
        first = build(module, opt)
        for _ in range(6):
            opt.step()
            first.step()
        saved = opt.state_dict()
        again = optimizers(kind)[0 if lib is tl else 1]
        again.load_state_dict(saved)
        resumed = _with_last_epoch(build, module, again, {"last_epoch": 5})  # the same schedule, at epoch 5
        rates = [resumed.get_last_lr()]
        for _ in range(10):
            again.step()
            resumed.step()
            rates.append(resumed.get_last_lr())
        runs.append(rates)
    assert runs[0] == runs[1]


def _with_last_epoch(build, module, opt, kw):
    """``build`` with every schedule class of ``module`` given ``kw`` too."""

    class Module:
        def __getattr__(self, name):
            cls = getattr(module, name)
            return lambda *a, **k: cls(*a, **{**k, **kw})

    return build(Module(), opt)


def test_mistakes_are_named():
    opt, _ = optimizers("SGD")
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer"):
        sched.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="LambdaLR: 3 values given for 2 parameter groups"):
        sched.LambdaLR(opt, [lambda e: 1.0] * 3)
    with pytest.raises(TypeError, match="is not an optimizer"):
        sched.ExponentialLR([tl.zeros(1)], gamma=0.5)
    with pytest.raises(KeyError, match="unknown keys"):
        sched.StepLR(opt, 2).load_state_dict({"nonsense": 1})
    one = sched.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    one.step()
    one.step()
    with pytest.raises(ValueError, match="more than total_steps"):
        one.step()


def test_cosine_schedule_follows_the_closed_form():
    opt, _ = optimizers("SGD")
    cosine = sched.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    for epoch in range(1, 25):
        opt.step()
        cosine.step()
        want = 0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert np.isclose(cosine.get_last_lr()[0], want, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (
            lambda o: sched.LinearLR(o, start_factor=0),
            ValueError,
            r"LinearLR: start_factor must be a number in \(0, 1\]",
        ),
        (lambda o: sched.LinearLR(o, end_factor=1.5), ValueError, r"LinearLR: end_factor must be a number in \[0, 1\]"),
        (lambda o: sched.LinearLR(o, total_iters=0), ValueError, r"LinearLR: total_iters must be an integer >= 1"),
        (lambda o: sched.ConstantLR(o, factor=0), ValueError, r"ConstantLR: factor must be a number in \(0, 1\]"),
        (lambda o: sched.PolynomialLR(o, total_iters=2.5), TypeError, r"PolynomialLR: total_iters must be an integer"),
        (lambda o: sched.MultiplicativeLR(o, 0.9), TypeError, r"MultiplicativeLR: lr_lambda must be a function"),
        (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, r"CosineAnnealingWarmRestarts: T_0 must"),
        (lambda o: sched.CosineAnnealingWarmRestarts(o, 2, T_mult=1.5), TypeError, r"T_mult must be an integer"),
        (lambda o: sched.CyclicLR(o, 0.1, 1.0, mode="sawtooth"), ValueError, r"CyclicLR: mode must be one of"),
        (lambda o: sched.CyclicLR(o, [0.1], 1.0), ValueError, r"CyclicLR: 1 values given for 2 parameter groups"),
        (lambda o: sched.CyclicLR(o, 0.1, 1.0, step_size_up=0), ValueError, r"CyclicLR: step_size_up must be"),
        (
            lambda o: sched.CyclicLR(tl.optim.Adagrad([tl.zeros(1, requires_grad=True)]), 0.1, 1.0),
            ValueError,
            r"CyclicLR: cycle_momentum needs an optimizer with momentum or betas, and Adagrad has neither",
        ),
        (lambda o: sched.SequentialLR(o, [], []), ValueError, r"SequentialLR: schedulers must be a non-empty list"),
        (
            lambda o: sched.SequentialLR(o, [sched.StepLR(o, 2), sched.StepLR(o, 3)], [2, 4]),
            ValueError,
            r"SequentialLR: milestones must be 1 increasing epochs",
        ),
        (
            lambda o: sched.SequentialLR(o, [sched.StepLR(o, 2), sched.ReduceLROnPlateau(o)], [2]),
            ValueError,
            r"SequentialLR: schedulers\[1\] is a ReduceLROnPlateau, whose step\(\) needs a metric",
        ),
        (
            lambda o: sched.ChainedScheduler([sched.StepLR(o, 2), sched.StepLR(optimizers("SGD")[0], 2)]),
            ValueError,
            r"ChainedScheduler: schedulers\[1\] \(StepLR\) schedules another optimizer",
        ),
        (lambda o: sched.ChainedScheduler([o]), TypeError, r"ChainedScheduler: schedulers\[0\] is a SGD, not a"),
    ],
)
def test_new_schedules_name_their_mistakes(build, error, message):
    opt, _ = optimizers("SGD")
    with pytest.raises(error, match=message):
        build(opt)


def test_a_composite_state_with_an_unknown_key_changes_nothing():
    opt, _ = optimizers("SGD")
    chain = sched.SequentialLR(opt, [sched.LinearLR(opt, 0.5, total_iters=2), sched.StepLR(opt, 2)], [2])
    for _ in range(3):
        chain.step()
    saved = chain.state_dict()
    bad = chain.state_dict()
    bad["_schedulers"][1]["step_sise"] = 3  # a typo in the second schedule's state
    bad["last_epoch"] = 100
    with pytest.raises(KeyError, match=r"StepLR.load_state_dict: unknown keys \['step_sise'\]"):
        chain.load_state_dict(bad)
    assert chain.state_dict() == saved
    bad["_schedulers"] = bad["_schedulers"][:1]
    with pytest.raises(ValueError, match=r"SequentialLR.load_state_dict: 1 schedules' states for 2 schedules"):
        chain.load_state_dict(bad)
    assert chain.state_dict() == saved
