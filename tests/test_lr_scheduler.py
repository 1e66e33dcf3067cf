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
}


def optimizers(kind: str):
    """The same two parameter groups in both libraries."""
    mine = [tl.zeros(2, requires_grad=True), tl.zeros(3, requires_grad=True)]
    theirs = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    groups = lambda ps: [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}]  # noqa: E731
    if kind == "SGD":
        return tl.optim.SGD(groups(mine), lr=0.1, momentum=0.9), torch.optim.SGD(groups(theirs), lr=0.1, momentum=0.9)
    return tl.optim.Adam(groups(mine), lr=0.1), torch.optim.Adam(groups(theirs), lr=0.1)


def momenta(opt) -> list:
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


@pytest.mark.parametrize("case", CASES)
def test_rates_and_momenta_equal_pytorchs_step_by_step(case):
    build, kind = CASES[case]
    mine_opt, torch_opt = optimizers(kind)
    mine, theirs = build(sched, mine_opt), build(torch.optim.lr_scheduler, torch_opt)
    steps = 20 if "OneCycle" in case else 12
    for _ in range(steps):
        assert mine.get_last_lr() == theirs.get_last_lr()  # bit for bit: the same arithmetic
        assert momenta(mine_opt) == momenta(torch_opt)
        mine_opt.step()
        torch_opt.step()
        mine.step()
        theirs.step()
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


@pytest.mark.parametrize("case", ["CosineAnnealingLR", "OneCycleLR", "StepLR"])
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
