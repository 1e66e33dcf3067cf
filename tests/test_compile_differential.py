"""tl.compile against eager execution, on generated training setups (issue 27).

Two twins of one model (same seed, same parameters) run the same training loop: one calls the step
through ``tl.compile``, the other calls the plain function. Between calls the loop does what training
code does to the state a step reads: an optimizer step, clipping, a new temperature in a closure list,
a target rebound or written in place, a parameter replaced, frozen or unfrozen, ``train()``/``eval()``,
hooks, ``retain_graph``, ``tl.grad`` and ``trace_backward`` on the result. Every call must give eager's
loss and gradients (bit for bit where documented: the loss always, gradients with ``exact=True`` or
without a recurrent weight), or raise a CompileError before anything changed (parameters, ``.grad``,
the random generators). Eager is the reference here; it is checked against PyTorch elsewhere.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lstm as tl
from tinygrad_lstm import nn
from tinygrad_lstm import random as tl_random

# every test here runs on both backends of tl.compile (conftest.py): the NumPy replay and numba's kernels
pytestmark = pytest.mark.usefixtures("compile_backend")

F = nn.functional
T, B, I, H, C = 3, 2, 3, 4, 3
DT = np.float64

ACTIVATIONS = {
    "none": lambda z: z,
    "relu": lambda z: z.relu(),
    "leaky_relu": lambda z: F.leaky_relu(z, 0.1),
    "elu": lambda z: F.elu(z),
    "hardtanh": lambda z: F.hardtanh(z, -0.5, 0.5),
    "softplus": lambda z: F.softplus(z, beta=2.0, threshold=0.5),
    "sign": lambda z: z * z.sign(),
    "tanh": lambda z: z.tanh(),
}
EXTRAS = ("detach", "no_grad", "mask", "data_branch", "inplace")
PERTURBATIONS = (
    "temperature",
    "rebind_target",
    "write_target",
    "replace_bias",
    "freeze_bias",
    "unfreeze_bias",
    "eval",
    "train",
    "scale_input",
)
BACKWARDS = ("plain", "retain", "hook", "grad", "trace", "outside")  # outside: a loss computed from the result


class Setup:
    """One model, its closure environment and its step function; built twice from one seed."""

    def __init__(self, cfg: dict, seed: int) -> None:
        tl.manual_seed(seed)
        self.cfg = cfg
        kind = cfg["kind"]
        directions = 1
        if kind in ("RNN", "LSTM", "GRU"):
            directions = 2 if cfg["bidirectional"] else 1
            self.core = getattr(nn, kind)(
                I,
                H,
                num_layers=cfg["layers"],
                bias=cfg["bias"],
                batch_first=cfg["batch_first"],
                bidirectional=cfg["bidirectional"],
                dtype=DT,
            )
        elif kind.endswith("Cell"):
            self.core = getattr(nn, kind)(I, H, bias=cfg["bias"], dtype=DT)
        else:
            self.core = nn.Linear(I, H, dtype=DT)
        self.head = nn.Linear(H * directions, C, dtype=DT)
        self.drop = nn.Dropout(cfg["dropout"])
        if cfg["tied"]:  # the head's bias and the core's first bias are one parameter
            self.second = nn.Linear(C, C, dtype=DT)
        rng = np.random.default_rng(seed)
        self.env = {
            "T": [1.0],
            "w": [0.5],
            "target": rng.standard_normal((B, C)),
            "labels": rng.integers(0, C, size=B),
            "probs": rng.uniform(0.05, 0.95, size=(B, C)),
        }
        self.params = self.parameters()
        opt = tl.optim.Adam if cfg["adam"] else tl.optim.SGD
        self.opt = opt(self.params, lr=0.05) if cfg["adam"] else opt(self.params, lr=0.1, momentum=0.9)

    def parameters(self) -> list:
        found = [*self.core.parameters(), *self.head.parameters()]
        if self.cfg["tied"]:
            found += list(self.second.parameters())
        return found

    def make_step(self):
        cfg, env = self.cfg, self.env
        core, head, drop = self.core, self.head, self.drop
        second = self.second if cfg["tied"] else None
        act = ACTIVATIONS[cfg["activation"]]

        def step(x):
            kind = cfg["kind"]
            if kind in ("RNN", "LSTM", "GRU"):
                xs = x.transpose(1, 0, 2) if cfg["batch_first"] else x
                out, _ = core(xs)
                h = out[:, -1] if cfg["batch_first"] else out[-1]
            elif kind.endswith("Cell"):
                state = None
                for t in range(T):
                    state = core(x[t], state)
                h = state[0] if kind == "LSTMCell" else state
            else:
                h = core(x[-1]).tanh()
            z = drop(head(h)) / env["T"][0]
            if second is not None:
                z = second(z) + head(h)  # the head is used twice
            z = act(z)
            extras = cfg["extras"]
            if "detach" in extras:
                z = z - z.detach().mean()
            if "no_grad" in extras:
                with tl.no_grad():
                    m = (z * 2).max()
                z = z - m
            if "mask" in extras:
                z = tl.where(z > 0, z, z * 0.3)
            if "inplace" in extras:  # recorded writes, then reads of the written memory without a gradient
                z = z * 1
                z[:, :1] = -z[:, 1:2] * 2  # through a view
                z.mul_(1.5)
                z = z - z.detach().max() + tl.where(z > 0, z, z * 0.2)
            loss_kind = cfg["loss"]
            if loss_kind == "mse":
                loss = F.mse_loss(z, env["target"])
            elif loss_kind == "cross_entropy":
                loss = F.cross_entropy(z * 3, env["labels"])
            elif loss_kind == "log_softmax":
                loss = -(z.log_softmax(axis=-1) * env["probs"]).sum()
            else:
                loss = F.binary_cross_entropy_with_logits(z, env["probs"])
            if "data_branch" in extras:
                loss = loss * 10 if loss.data > 1 else loss
            return loss * env["w"][0]

        return step

    def perturb(self, what: str, rng_value: float) -> None:
        env = self.env
        if what == "temperature":
            env["T"][0] = 1.0 + rng_value
        elif what == "rebind_target":
            env["target"] = env["target"] * (1 + rng_value)
            env["probs"] = np.clip(env["probs"] * (1 - rng_value / 2), 0.01, 0.99)
            env["labels"] = (env["labels"] + 1) % C
        elif what == "write_target":
            env["target"][...] = env["target"] - rng_value
            env["probs"][...] = np.clip(env["probs"] + rng_value / 4, 0.01, 0.99)
            env["labels"][...] = (env["labels"] + 2) % C
        elif what == "replace_bias":
            self.head.bias = nn.Parameter(self.head.bias.data + rng_value)
        elif what == "freeze_bias":
            self.head.bias.requires_grad_(False)
        elif what == "unfreeze_bias":
            self.head.bias.requires_grad_(True)
        elif what == "eval":
            self.core.eval(), self.drop.eval()
        elif what == "train":
            self.core.train(), self.drop.train()


def snapshot(setup: Setup) -> list:
    gen = tl_random.generator()
    found = [gen.bit_generator.state["state"]["state"]]
    for p in setup.parameters():
        found.append(p.data.copy())
        found.append(None if p.grad is None else p.grad.data.copy())
    return found


def same_snapshot(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if (x is None) != (y is None):
            return False
        if x is not None and not np.array_equal(x, y):
            return False
    return True


def run_backward(loss, setup: Setup, mode: str):
    params = [p for p in setup.parameters() if p.requires_grad]
    if mode == "plain":
        loss.backward()
    elif mode == "retain":
        loss.backward(retain_graph=True)
    elif mode == "hook":
        loss.register_hook(lambda g: g * 2)
        loss.backward()
    elif mode == "grad":
        grads = tl.grad(loss, params, allow_unused=True)
        return [None if g is None else g.data for g in grads]
    elif mode == "outside":  # the result read by ops after the step (PyTorch's compiled model, loss outside)
        (loss * 0.5 + loss * loss).backward()
    else:
        with tl.trace_backward():
            loss.backward()
    return [None if p.grad is None else p.grad.data.copy() for p in params]


def assert_grads(got, want, exact: bool) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert (g is None) == (w is None)
        if g is None:
            continue
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


configs = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "Linear"]),
        "layers": st.integers(1, 2),
        "bias": st.booleans(),
        "batch_first": st.booleans(),
        "bidirectional": st.booleans(),
        "dropout": st.sampled_from([0.0, 0.0, 0.5]),
        "tied": st.booleans(),
        "activation": st.sampled_from(sorted(ACTIVATIONS)),
        "extras": st.lists(st.sampled_from(EXTRAS), max_size=2, unique=True),
        "loss": st.sampled_from(["mse", "cross_entropy", "log_softmax", "bce"]),
        "adam": st.booleans(),
        "exact": st.booleans(),
        "clip": st.booleans(),
        "start_in_eval": st.booleans(),
    }
)
calls = st.lists(
    st.tuples(
        st.lists(st.sampled_from(PERTURBATIONS), max_size=2),
        st.sampled_from(BACKWARDS),
        st.floats(0.1, 0.9),
    ),
    min_size=3,
    max_size=5,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs, plan=calls, seed=st.integers(0, 2**16))
def test_compiled_training_equals_eager_or_refuses_before_anything_changes(cfg, plan, seed):
    compiled, eager = Setup(cfg, seed), Setup(cfg, seed)
    if cfg["start_in_eval"]:
        compiled.perturb("eval", 0), eager.perturb("eval", 0)
    step = tl.compile(compiled.make_step(), exact=cfg["exact"])
    fn = eager.make_step()
    recurrent = cfg["kind"] in ("RNN", "LSTM", "GRU") or cfg["kind"].endswith("Cell")
    rng = np.random.default_rng(seed)
    scale = 1.0
    bitwise = True  # until a call's shared-weight gradient is summed in another order (exact=False)
    for k, (perturbations, mode, value) in enumerate(plan):
        if k:
            for what in perturbations:
                if what == "scale_input":
                    scale *= 30.0  # logits far from the first call's: a baked softmax shift would overflow
                compiled.perturb(what, value), eager.perturb(what, value)
        x = rng.standard_normal((T, B, I)) * scale
        before = snapshot(compiled)
        try:
            loss = step(x)
        except tl.CompileError:
            assert same_snapshot(before, snapshot(compiled)), "a refusal changed the state"
            return
        want = fn(tl.Tensor(x))
        assert loss.dtype == want.dtype and loss.shape == want.shape
        if bitwise:
            np.testing.assert_array_equal(loss.data, want.data)  # the loss is bit for bit eager's
        else:
            np.testing.assert_allclose(loss.data, want.data, rtol=1e-9)
        got = run_backward(loss, compiled, mode)
        expected = run_backward(want, eager, mode)
        assert_grads(got, expected, bitwise and (cfg["exact"] or not recurrent or mode != "plain"))
        bitwise = bitwise and (cfg["exact"] or not recurrent or mode != "plain")
        for s in (compiled, eager):
            if cfg["clip"]:
                nn.utils.clip_grad_norm_([p for p in s.params if p.grad is not None], 1.0)
            s.opt.step()
            s.opt.zero_grad()
        for p, q in zip(compiled.parameters(), eager.parameters()):
            if bitwise:
                np.testing.assert_array_equal(p.data, q.data)
            else:
                np.testing.assert_allclose(p.data, q.data, rtol=1e-7, atol=1e-9)
            assert p.requires_grad == q.requires_grad


def test_the_generated_setups_do_replay():
    """The suite is not vacuous: a plain setup replays on every call after the first."""
    cfg = {
        "kind": "LSTM",
        "layers": 1,
        "bias": True,
        "batch_first": False,
        "bidirectional": False,
        "dropout": 0.0,
        "tied": False,
        "activation": "elu",
        "extras": ["detach", "no_grad", "mask"],
        "loss": "log_softmax",
        "adam": True,
        "exact": True,
        "clip": True,
        "start_in_eval": False,
    }
    compiled, eager = Setup(cfg, 1), Setup(cfg, 1)
    step, fn = tl.compile(compiled.make_step(), exact=True), eager.make_step()
    rng = np.random.default_rng(0)
    for k in range(4):
        x = rng.standard_normal((T, B, I)) * (1 + 10 * k)
        loss, want = step(x), fn(tl.Tensor(x))
        np.testing.assert_array_equal(loss.data, want.data)
        loss.backward(), want.backward()
        for s in (compiled, eager):
            s.opt.step(), s.opt.zero_grad()
    assert step.replays == 3 and step.recordings == ["first call"]


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])
