"""RNN, LSTM and GRU steps composed from the engine's primitives, and the cell modules.

A step takes the input projection ``xp = x @ W_ih.T + b_ih`` (the layers compute it for the whole
sequence with one matmul) and the previous state, and returns the new state. Every intermediate
gets a readable name on the tape (i, f, g, o, c, h; r, z, n), so listings and pictures can say what
they show. Backpropagation through time is then just ``loss.backward()``.

LSTM variants are flags of one step function (:class:`LSTMVariant`), never copies of it.
"""

from __future__ import annotations

import difflib
import functools
import math
from dataclasses import dataclass, fields
from typing import NamedTuple, overload

import numpy as np

from .. import devices, dtypes, ops
from ..checks import check_int, plain_array
from ..tensor import Tensor
from . import init
from .module import Module, Parameter, check_input_dtype

# ---- LSTM variants ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LSTMVariant:
    """Which parts an LSTM cell has. The default is the standard (PyTorch) cell.

    ``peephole``: i and f see c_{t-1}, o sees c_t through diagonal weights (Gers & Schmidhuber 2000).
    ``coupled``: the forget gate is 1 - i (CIFG). ``gate_recurrence``: every gate also reads all gate
    activations of the previous step (FGR). The others switch a gate or an activation off
    (the ablations of Greff et al. 2015).
    """

    peephole: bool = False
    input_gate: bool = True
    forget_gate: bool = True
    output_gate: bool = True
    input_activation: bool = True
    output_activation: bool = True
    coupled: bool = False
    gate_recurrence: bool = False

    def __post_init__(self) -> None:
        if self.coupled and not (self.input_gate and self.forget_gate):
            raise ValueError("LSTMVariant: coupled (f = 1 - i) needs both the input and the forget gate")

    @functools.cached_property  # read every step: computed once per variant
    def sigmoid_gates(self) -> tuple[str, ...]:
        """Gates with weights of their own and a sigmoid, in PyTorch's order."""
        present = {"i": self.input_gate, "f": self.forget_gate and not self.coupled, "o": self.output_gate}
        return tuple(k for k in "ifo" if present[k])

    @functools.cached_property
    def gates(self) -> tuple[str, ...]:
        """Row blocks of weight_ih/weight_hh/biases, in PyTorch's order (i, f, g, o)."""
        return tuple(k for k in "ifgo" if k == "g" or k in self.sigmoid_gates)

    @functools.cached_property
    def peepholes(self) -> tuple[str, ...]:
        return self.sigmoid_gates if self.peephole else ()

    @property
    def is_standard(self) -> bool:
        return self == LSTMVariant()


# Greff et al. 2015: "vanilla" has peepholes; each other variant changes one thing of it.
GREFF_VARIANTS: dict[str, LSTMVariant] = {
    "vanilla": LSTMVariant(peephole=True),
    "nig": LSTMVariant(peephole=True, input_gate=False),
    "nfg": LSTMVariant(peephole=True, forget_gate=False),
    "nog": LSTMVariant(peephole=True, output_gate=False),
    "niaf": LSTMVariant(peephole=True, input_activation=False),
    "noaf": LSTMVariant(peephole=True, output_activation=False),
    "np": LSTMVariant(),
    "cifg": LSTMVariant(peephole=True, coupled=True),
    "fgr": LSTMVariant(peephole=True, gate_recurrence=True),
}
VARIANTS: dict[str, LSTMVariant] = {
    "standard": LSTMVariant(),
    "peephole": GREFF_VARIANTS["vanilla"],
    **GREFF_VARIANTS,
}


_LSTM_ARGUMENTS = [
    "input_size",
    "hidden_size",
    "num_layers",
    "bias",
    "batch_first",
    "dropout",
    "bidirectional",
    "proj_size",
    "dtype",
    "variant",
    "forget_bias",
]


def check_sizes(name: str, input_size: int, hidden_size: int, least: int = 0) -> tuple[int, int]:
    """Sizes as PyTorch checks them: integers, at least 0 for a cell, at least 1 for a layer."""
    return check_int(name, "input_size", input_size, least), check_int(name, "hidden_size", hidden_size, least)


def resolve_variant(variant: str | LSTMVariant | None, **flags) -> LSTMVariant:
    """A variant from a name (``"cifg"``), an :class:`LSTMVariant`, and/or keyword flags on top."""
    if isinstance(variant, str):
        if variant.lower() not in VARIANTS:
            raise ValueError(f"LSTM: unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
        variant = VARIANTS[variant.lower()]
    base = variant or LSTMVariant()
    given = {k: v for k, v in flags.items() if v is not None}
    known = [f.name for f in fields(LSTMVariant)]
    unknown = sorted(set(given) - set(known))
    if unknown:
        guesses = difflib.get_close_matches(unknown[0], _LSTM_ARGUMENTS + known, n=1)
        hint = f" (did you mean {guesses[0]!r}?)" if guesses else ""
        raise TypeError(
            f"LSTM: unexpected keyword argument {unknown[0]!r}{hint}; LSTM takes {', '.join(_LSTM_ARGUMENTS)} "
            f"and the variant flags {', '.join(known)}"
        )
    return LSTMVariant(**{**{f.name: getattr(base, f.name) for f in fields(LSTMVariant)}, **given})


# ---- the steps -------------------------------------------------------------------------------------


class StepWeights(NamedTuple):
    """The weights one step reads besides its input projection (None where a layer has none). Each
    matrix W comes as ``W.T`` laid out in memory of its own once per sequence (the steps multiply by
    it) and as W itself, detached, for their VJPs' ``g @ W`` (``ops.matmul_t``): on OpenBLAS a product
    with a transposed operand takes about twice as long at an RNN's sizes."""

    w_hh_t: Tensor
    w_hh: Tensor
    b_hh: Tensor | None
    peephole: dict[str, Tensor]
    w_gates_t: Tensor | None  # gate recurrence (FGR)
    w_gates: Tensor | None
    w_hr_t: Tensor | None  # LSTM projection
    w_hr: Tensor | None


def _recurrent(h: Tensor, w: StepWeights) -> Tensor:
    r = ops.matmul_t(h, w.w_hh_t, w.w_hh)  # h @ weight_hh.T
    return r + w.b_hh if w.b_hh is not None else r  # only the GRU keeps b_hh here (b_hn sits inside r * (...))


def rnn_step(xp: Tensor, h: Tensor, w: StepWeights, nonlinearity: str = "tanh") -> Tensor:
    pre = xp + _recurrent(h, w)
    return (pre.tanh() if nonlinearity == "tanh" else pre.relu()).named("h")


def gru_step(xp: Tensor, h: Tensor, w: StepWeights) -> Tensor:
    """PyTorch's GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) * n + z * h."""
    xr, xz, xn = ops.split(xp, 3, axis=-1)
    hr, hz, hn = ops.split(_recurrent(h, w), 3, axis=-1)
    r = (xr + hr).sigmoid().named("r")
    z = (xz + hz).sigmoid().named("z")
    n = (xn + (r * hn).named("r*hn")).tanh().named("n")
    return (n + (z * (h - n)).named("z*(h[t-1]-n)")).named("h")


def lstm_step(xp: Tensor, state: tuple, w: StepWeights, v: LSTMVariant) -> tuple:
    """One LSTM step; ``state`` is (h, c), plus the previous gate activations under FGR."""
    h, c = state[0], state[1]
    pre = dict(zip(v.gates, ops.split(xp + _recurrent(h, w), len(v.gates), axis=-1)))
    if v.gate_recurrence:
        assert w.w_gates_t is not None and w.w_gates is not None, "step_weights gives FGR its weight_gates"
        from_gates = ops.split(ops.matmul_t(state[2], w.w_gates_t, w.w_gates), len(v.sigmoid_gates), axis=-1)
        for k, extra in zip(v.sigmoid_gates, from_gates):
            pre[k] = pre[k] + extra
    for k in ("i", "f"):
        if k in v.peepholes:
            pre[k] = pre[k] + (c * w.peephole[k]).named(f"p_{k}*c[t-1]")
    f: Tensor | None  # (in place of a blank line: source listings print the lines below by their numbers)
    i = pre["i"].sigmoid().named("i") if v.input_gate else None
    if v.coupled and i is not None:  # LSTMVariant refuses coupled without an input gate
        f = (1.0 - i).named("f")
    else:
        f = pre["f"].sigmoid().named("f") if v.forget_gate else None
    g = (pre["g"].tanh() if v.input_activation else pre["g"]).named("g")
    kept = (f * c).named("f*c[t-1]") if f is not None else c
    c_new = (kept + ((i * g).named("i*g") if i is not None else g)).named("c")
    o = None
    if v.output_gate:
        o_pre = pre["o"] + (c_new * w.peephole["o"]).named("p_o*c") if "o" in v.peepholes else pre["o"]
        o = o_pre.sigmoid().named("o")
    out = c_new.tanh().named("tanh(c)") if v.output_activation else c_new
    h_new = (o * out if o is not None else out).named("h")
    if w.w_hr_t is not None and w.w_hr is not None:
        h_new = ops.matmul_t(h_new, w.w_hr_t, w.w_hr).named("h_proj")
    if not v.gate_recurrence:
        return h_new, c_new
    acts = {"i": i, "f": f, "o": o}
    return h_new, c_new, ops.cat([acts[k] for k in v.sigmoid_gates], axis=-1)


# ---- parameters shared by cells and layers --------------------------------------------------------


def uniform_parameter(shape: tuple[int, ...], bound: float, dtype) -> Parameter:
    """PyTorch's recurrent initialisation: U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias."""
    return init.uniform_(Parameter(np.empty(shape, dtype=dtype)), -bound, bound)


def make_recurrent_parameters(
    module: Module,
    suffix: str,
    input_size: int,
    hidden_size: int,
    n_gates: int,
    bias: bool,
    dtype,
    recurrent_size: int | None = None,
) -> None:
    """Register weight_ih, weight_hh, bias_ih, bias_hh (+ suffix) in PyTorch's layout and order."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size else 0.0  # PyTorch allows a cell of hidden_size 0
    recurrent_size = recurrent_size or hidden_size
    setattr(module, f"weight_ih{suffix}", uniform_parameter((n_gates * hidden_size, input_size), bound, dtype))
    setattr(module, f"weight_hh{suffix}", uniform_parameter((n_gates * hidden_size, recurrent_size), bound, dtype))
    if bias:
        setattr(module, f"bias_ih{suffix}", uniform_parameter((n_gates * hidden_size,), bound, dtype))
        setattr(module, f"bias_hh{suffix}", uniform_parameter((n_gates * hidden_size,), bound, dtype))


def make_variant_parameters(
    module: Module, suffix: str, hidden_size: int, v: LSTMVariant, forget_bias: float | None, dtype
) -> None:
    """Peephole vectors ``peephole_{i,f,o}``, the FGR matrix ``weight_gates``, the forget-gate bias."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size else 0.0
    for k in v.peepholes:
        setattr(module, f"peephole_{k}{suffix}", uniform_parameter((hidden_size,), bound, dtype))
    if v.gate_recurrence:
        n = len(v.sigmoid_gates) * hidden_size
        setattr(module, f"weight_gates{suffix}", uniform_parameter((n, n), bound, dtype))
    set_forget_bias(module, suffix, hidden_size, v, forget_bias)


def set_forget_bias(module: Module, suffix: str, hidden_size: int, v: LSTMVariant, forget_bias: float | None) -> None:
    """The forget gate's rows of the two biases: forget_bias and 0 (they sum to it), when asked for."""
    if forget_bias is not None and "f" in v.gates and hasattr(module, f"bias_ih{suffix}"):
        rows = slice(v.gates.index("f") * hidden_size, (v.gates.index("f") + 1) * hidden_size)
        getattr(module, f"bias_ih{suffix}").data[rows] = forget_bias
        getattr(module, f"bias_hh{suffix}").data[rows] = 0.0


def reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's ``reset_parameters`` of a recurrent cell or layer: every parameter drawn again, in
    place (the same Parameter objects, so an optimizer keeps them), from U(-1/sqrt(H), 1/sqrt(H)), in
    the order they were made."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def step_weights(module: Module, suffix: str, v: LSTMVariant | None = None, fold_bias: bool = True) -> StepWeights:
    """Gather one layer-direction's step weights, laying each matrix's transpose out once.

    With ``fold_bias`` (RNN, LSTM) ``bias_hh`` joins ``bias_ih`` in the input projection, so the
    steps need not add it; the GRU keeps it per step, inside ``r * (W_hn h + b_hn)``.
    """
    get = module._parameters.get
    v = v or LSTMVariant()
    w_hh, gates_w, hr = get(f"weight_hh{suffix}"), get(f"weight_gates{suffix}"), get(f"weight_hr{suffix}")
    assert w_hh is not None, "every recurrent layer and cell has weight_hh"
    return StepWeights(
        w_hh_t=_laid_out_transposed(w_hh),
        w_hh=w_hh.detach(),
        b_hh=None if fold_bias else get(f"bias_hh{suffix}"),
        peephole={k: get(f"peephole_{k}{suffix}") for k in v.peepholes},
        w_gates_t=_laid_out_transposed(gates_w),
        w_gates=None if gates_w is None else gates_w.detach(),
        w_hr_t=_laid_out_transposed(hr),
        w_hr=None if hr is None else hr.detach(),
    )


@overload
def _laid_out_transposed(w: Tensor) -> Tensor: ...
@overload
def _laid_out_transposed(w: Tensor | None) -> Tensor | None: ...
def _laid_out_transposed(w: Tensor | None) -> Tensor | None:
    """``w.T`` in memory of its own (a transposed view would make every step's product slower)."""
    return None if w is None else ops.transposed_copy(w).named(f"{w.name}.T" if w.name else None)


def _transposed(w: Tensor) -> Tensor:
    return w.T.named(f"{w.name}.T" if w.name else None)


def input_weights(module: Module, suffix: str, fold_bias: bool = True) -> tuple[Tensor, Tensor | None]:
    """``weight_ih`` transposed, and the bias the input projection adds (``bias_ih + bias_hh`` when
    folded), gathered once per layer and direction however many products use them."""
    w_t = _transposed(module._parameters[f"weight_ih{suffix}"])
    b = module._parameters.get(f"bias_ih{suffix}")
    if b is not None and fold_bias:
        b = b + module._parameters[f"bias_hh{suffix}"]
    return w_t, b


def project(x: Tensor, w_t: Tensor, bias: Tensor | None) -> Tensor:
    """``x @ w_t + bias`` for any leading shape of ``x``, as one 2-D matrix product."""
    lead = x.shape[:-1]
    flat = x if x.ndim == 2 else ops.reshape(x, (-1, x.shape[-1]))
    xp = flat @ w_t
    if bias is not None:
        xp = xp + bias
    xp = xp if x.ndim == 2 else ops.reshape(xp, (*lead, w_t.shape[1]))
    return xp.named("x_proj")


def input_projection(x: Tensor, module: Module, suffix: str, fold_bias: bool = True) -> Tensor:
    """``x @ weight_ih.T + bias_ih (+ bias_hh)``: what a cell adds to its recurrent term."""
    return project(x, *input_weights(module, suffix, fold_bias))


# ---- cells -----------------------------------------------------------------------------------------


class _Cell(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, dtype) -> None:
        super().__init__()
        input_size, hidden_size = check_sizes(type(self).__name__, input_size, hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.dtype = np.dtype(dtypes.resolve(dtype))  # None: tl.get_default_dtype()

    def _check(self, x: Tensor, name: str) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: input of shape {x.shape} should be (batch, {self.input_size}) or ({self.input_size},)"
            )
        check_input_dtype(name, x, self.dtype)
        return x

    def _state(self, hx, x: Tensor, size: int, name: str, what: str = "hx") -> Tensor:
        shape = x.shape[:-1] + (size,)
        if hx is None:
            return Tensor(np.zeros(shape, dtype=x.dtype))
        if isinstance(hx, (tuple, list)):  # PyTorch: the RNN and GRU cells take one tensor
            raise TypeError(f"{name}: {what} must be one tensor of shape {shape}, got {type(hx).__name__}")
        hx = hx if isinstance(hx, Tensor) else Tensor(plain_array(hx, f"{name}: {what}"))
        if hx.shape != shape:
            raise ValueError(f"{name}: {what} of shape {hx.shape} should be {shape} for input of shape {x.shape}")
        if hx.dtype != x.dtype:  # PyTorch refuses it too; NumPy would mix the two precisions
            raise TypeError(f"{name}: {what} has dtype {hx.dtype}, the input {x.dtype}")
        return hx

    def reset_parameters(self) -> None:
        """Draw every weight and bias again, as at construction (PyTorch's method)."""
        reset_uniform(self, self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_Cell):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu); ``cell(x, h=None) -> h'``."""

    @devices.takes_device
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        make_recurrent_parameters(self, "", input_size, hidden_size, 1, bias, self.dtype)

    def forward(self, input: Tensor, hx=None) -> Tensor:
        input = self._check(input, "RNNCell")
        h = self._state(hx, input, self.hidden_size, "RNNCell")
        return rnn_step(input_projection(input, self, ""), h, step_weights(self, ""), self.nonlinearity)

    def extra_repr(self) -> str:
        relu = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity}"  # as PyTorch prints
        return super().extra_repr() + relu


class GRUCell(_Cell):
    """PyTorch's GRU cell, gates (r, z, n); ``cell(x, h=None) -> h'``."""

    @devices.takes_device
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)
        make_recurrent_parameters(self, "", input_size, hidden_size, 3, bias, self.dtype)

    def forward(self, input: Tensor, hx=None) -> Tensor:
        input = self._check(input, "GRUCell")
        h = self._state(hx, input, self.hidden_size, "GRUCell")
        return gru_step(input_projection(input, self, "", fold_bias=False), h, step_weights(self, "", fold_bias=False))


class LSTMCell(_Cell):
    """PyTorch's LSTM cell, gates (i, f, g, o); ``cell(x, (h, c)=None) -> (h', c')``.

    Variants: ``variant=`` one of ``"standard"`` (default), ``"peephole"``/``"vanilla"``, ``"nig"``,
    ``"nfg"``, ``"nog"``, ``"niaf"``, ``"noaf"``, ``"np"``, ``"cifg"``, ``"fgr"``, or an
    :class:`LSTMVariant`; flags (``peephole=True``, ``coupled=True``...) override it. Extra
    parameters: ``peephole_i``, ``peephole_f``, ``peephole_o`` (H,), ``weight_gates`` (FGR). Weight row
    blocks hold only the gates the variant has, in the order i, f, g, o. ``forget_bias=1.0`` starts
    the forget gate open (Jozefowicz et al. 2015). Under FGR the state is (h, c, previous gates).

    >>> import numpy as np, tinygrad_lstm as tl
    >>> cell = tl.nn.LSTMCell(3, 5, variant="cifg")
    >>> h, c = cell(tl.Tensor(np.ones((2, 3), np.float32)))
    >>> h.shape, cell.weight_ih.shape
    ((2, 5), (15, 3))
    """

    @devices.takes_device
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device=None,
        dtype=None,
        variant: str | LSTMVariant | None = None,
        forget_bias: float | None = None,
        **flags,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)
        self.variant = resolve_variant(variant, **flags)
        self.forget_bias = forget_bias
        make_recurrent_parameters(self, "", input_size, hidden_size, len(self.variant.gates), bias, self.dtype)
        make_variant_parameters(self, "", hidden_size, self.variant, forget_bias, self.dtype)

    def reset_parameters(self) -> None:
        """Draw every parameter again, as at construction (the forget bias set again too)."""
        reset_uniform(self, self.hidden_size)
        set_forget_bias(self, "", self.hidden_size, self.variant, self.forget_bias)

    def forward(self, input: Tensor, hx=None) -> tuple:
        input = self._check(input, "LSTMCell")
        v = self.variant
        n_state = 3 if v.gate_recurrence else 2
        if hx is None:
            hx = (None,) * n_state
        what = "(h, c, gates)" if v.gate_recurrence else "(h, c)"
        if not isinstance(hx, (tuple, list)):  # a lone tensor's rows would otherwise pass for h and c
            raise TypeError(f"LSTMCell: hx must be a tuple {what}, got {type(hx).__name__} of shape {np.shape(hx)}")
        if len(hx) != n_state:
            raise ValueError(f"LSTMCell: hx must be a tuple {what} of {n_state} tensors, got {len(hx)}")
        h = self._state(hx[0], input, self.hidden_size, "LSTMCell", "h")
        c = self._state(hx[1], input, self.hidden_size, "LSTMCell", "c")
        state: tuple[Tensor, ...] = (h, c)
        if v.gate_recurrence:
            state += (self._state(hx[2], input, len(v.sigmoid_gates) * self.hidden_size, "LSTMCell", "gates"),)
        return lstm_step(input_projection(input, self, ""), state, step_weights(self, "", v), v)

    def extra_repr(self) -> str:
        extra = "" if self.variant.is_standard else f", variant={self.variant}"
        return super().extra_repr() + extra
