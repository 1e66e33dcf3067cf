"""RNN, LSTM and GRU layers: the cells of ``cells.py`` unrolled over time, PyTorch-compatible.

The whole sequence's input projection is one matrix product per layer and direction; each time step
then runs inside ``tl.scope("<mode>.l<k>[_reverse]", t=t)`` so listings and the renderer can show
time. Variable-length batches take ``lengths=``: padded steps keep the state unchanged and output
zeros, exactly what PyTorch's packed sequences give, and receive no gradient.
"""

from __future__ import annotations

import numpy as np

from .. import devices, dtypes, ops
from ..checkpoint import checkpoint
from ..checks import check_bool, check_int, check_layer_dropout
from ..tape import scope
from ..tensor import Tensor
from . import functional as F
from .cells import (
    LSTMVariant,
    check_sizes,
    gru_step,
    input_weights,
    lstm_step,
    make_recurrent_parameters,
    make_variant_parameters,
    project,
    reset_uniform,
    resolve_variant,
    rnn_step,
    set_forget_bias,
    step_weights,
    uniform_parameter,
)
from .module import Module, check_input_dtype
from .utils.rnn import PackedSequence, pack_like, pad_packed_sequence


class _RecurrentLayer(Module):
    mode = "rnn"
    n_gates = 1
    # Time steps whose input projection is one matrix product (None: the whole sequence at once).
    # Chunks keep long sequences' memory near what BPTT must keep: a (T, B, gates * H) projection
    # and its gradient would add more than half of an LSTM's activations again.
    projection_chunk: int | None = 8
    # Checkpoint every k steps (tl.checkpoint; chunks then have k steps): keep the T/k states between
    # chunks until backward, which runs each chunk again. k = sqrt(T) keeps memory like sqrt(T).
    checkpoint_every: int | None = None

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        input_size, hidden_size = check_sizes(name, input_size, hidden_size, least=1)  # PyTorch: > 0 for layers
        num_layers = check_int(name, "num_layers", num_layers, least=1)
        dropout = check_layer_dropout(name, dropout, num_layers)
        for flag, value in (("bias", bias), ("batch_first", batch_first)):  # PyTorch's check: "False" is truthy
            check_bool(name, flag, value)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.dtype = np.dtype(dtypes.resolve(dtype))  # None: tl.get_default_dtype()

    @property
    def output_size(self) -> int:
        """Features of h per direction (proj_size for a projected LSTM)."""
        return self.hidden_size

    def _make_parameters(self) -> None:
        for layer in range(self.num_layers):
            layer_in = self.input_size if layer == 0 else self.output_size * self.num_directions
            for suffix in self._suffixes(layer):
                self._make_direction(suffix, layer_in)

    def _make_direction(self, suffix: str, layer_in: int) -> None:
        make_recurrent_parameters(
            self, suffix, layer_in, self.hidden_size, self.n_gates, self.bias, self.dtype, self.output_size
        )

    def reset_parameters(self) -> None:
        """Draw every weight and bias again, as at construction (PyTorch's method)."""
        reset_uniform(self, self.hidden_size)

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """The parameters per layer and direction, in PyTorch's order (weight_ih, weight_hh, bias_ih,
        bias_hh, weight_hr; a variant's own after them)."""
        found = list(self.named_parameters())
        return [
            [p for name, p in found if name.endswith(suffix)]
            for layer in range(self.num_layers)
            for suffix in self._suffixes(layer)
        ]

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    # ---- the state, per layer and direction -----------------------------------------------------------
    def _state_sizes(self) -> tuple[int, ...]:
        """Features of each state tensor (h; an LSTM adds c)."""
        return (self.output_size,)

    def _initial_state(self, hx, x: Tensor, batch_axis: int | None, name: str) -> list[tuple[Tensor, ...]]:
        """One state tuple per (layer, direction), from hx of shape (L*D, B, size) per component ((L*D,
        size) for an unbatched input; ``batch_axis`` is None then). Errors show the shapes as passed."""
        sizes = self._state_sizes()
        ld = self.num_layers * self.num_directions
        batch = 1 if batch_axis is None else x.shape[batch_axis]
        if hx is None:
            parts = [Tensor(np.zeros((ld, batch, s), dtype=x.dtype)) for s in sizes]
            return [tuple(p[j] for p in parts) for j in range(ld)]
        names = ("h_0", "c_0")[: len(sizes)]
        if len(sizes) > 1 and not isinstance(hx, (tuple, list)):
            raise TypeError(
                f"{name}: hx must be a tuple ({', '.join(names)}), got {type(hx).__name__} of shape {np.shape(hx)}"
            )
        parts = list(hx) if isinstance(hx, (tuple, list)) else [hx]
        if len(parts) != len(sizes):
            raise ValueError(f"{name}: hx must be {' and '.join(names)}: {len(sizes)} tensor(s), got {len(parts)}")
        parts = [_tensor(p) for p in parts]
        whats = [f"hx[{k}]" if isinstance(hx, (tuple, list)) else "hx" for k in range(len(parts))]
        for what, p, s in zip(whats, parts, sizes):
            expected = (ld, s) if batch_axis is None else (ld, batch, s)
            if p.shape != expected:
                raise ValueError(f"{name}: {what} of shape {p.shape} should be {expected} for input of shape {x.shape}")
        for what, p in zip(whats, parts):
            if p.dtype != x.dtype:  # PyTorch refuses it too; NumPy would mix the two precisions
                raise TypeError(f"{name}: {what} has dtype {p.dtype}, the input {x.dtype}")
        if batch_axis is None:
            parts = [ops.expand_dims(p, 1) for p in parts]
        return [tuple(p[j] for p in parts) for j in range(ld)]

    def _step(self, xp: Tensor, state: tuple, weights) -> tuple:
        return (rnn_step(xp, state[0], weights, self.nonlinearity),)

    def _extra_state(self, state: tuple, batch: int, dtype) -> tuple:
        return state

    # ---- forward --------------------------------------------------------------------------------------
    def forward(self, input: Tensor, hx=None, lengths=None):  # noqa: A002 - PyTorch's name
        """``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``), shapes exactly as PyTorch's.

        ``lengths`` (batch,) gives each sequence's true length in a padded batch. A
        ``PackedSequence`` input gives a ``PackedSequence`` output, as in PyTorch; ``h_n`` holds each
        sequence's state at its own last step, in the batch's original order.
        """
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError(f"{type(self).__name__}: a PackedSequence carries its lengths; do not pass lengths=")
            padded, lengths = pad_packed_sequence(input, batch_first=False)
            output, state = self._forward(padded, hx, lengths, batch_first=False)
            return pack_like(output, lengths, input), state
        return self._forward(input, hx, lengths, self.batch_first)

    def _forward(self, input: Tensor, hx, lengths, batch_first: bool):  # noqa: A002
        name = type(self).__name__
        x = input if isinstance(input, Tensor) else Tensor(input)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(batch, seq, features)" if batch_first else "(seq, batch, features)"
            raise ValueError(
                f"{name}: input of shape {x.shape} should be {layout} or (seq, features) "
                f"with features = input_size = {self.input_size}"
            )
        check_input_dtype(name, x, self.dtype)
        if x.shape[1 if batch_first and x.ndim == 3 else 0] == 0:
            raise ValueError(f"{name}: the input of shape {x.shape} has no time steps (sequence length 0)")
        unbatched = x.ndim == 2
        # hx is checked against the input as given, so that errors show the shapes the caller passed
        states = self._initial_state(hx, x, None if unbatched else (0 if batch_first else 1), name)
        if unbatched:
            x = ops.expand_dims(x, 1)
        elif batch_first:
            x = ops.swapaxes(x, 0, 1)
        steps, batch = x.shape[0], x.shape[1]
        masks = self._length_masks(lengths, steps, batch, x.dtype, name)

        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                state = states[layer * self.num_directions + d]
                out, state = self._run_direction(layer_input, state, suffix, reverse=d == 1, masks=masks)
                outputs.append(out)
                finals.append(state)
            layer_input = outputs[0] if len(outputs) == 1 else ops.cat(outputs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)

        output = layer_input
        n_final = len(self._state_sizes())
        h_n = tuple(ops.stack([s[k] for s in finals], axis=0) for k in range(n_final))
        if unbatched:
            output = ops.squeeze(output, 1)
            h_n = tuple(ops.squeeze(h, 1) for h in h_n)
        elif batch_first:
            output = ops.swapaxes(output, 0, 1)
        # PyTorch's names for what the layer returns, so listings and pictures say which is which
        output.named("output")
        for final, state_name in zip(h_n, ("h_n", "c_n")):
            final.named(state_name)
        return output, (h_n[0] if n_final == 1 else h_n)

    def _run_direction(self, x: Tensor, state: tuple, suffix: str, reverse: bool, masks):
        fold = self.mode != "gru"  # the GRU needs b_hn inside r * (W_hn h + b_hn)
        weights = step_weights(self, suffix, getattr(self, "variant", None), fold_bias=fold)
        w_t, bias = input_weights(self, suffix, fold_bias=fold)
        state = self._extra_state(state, x.shape[1], x.dtype)
        steps = x.shape[0]
        outs: list = [None] * steps
        scope_name = f"{self.mode}{suffix.replace('_', '.', 1)}"
        for lo, hi in self._chunks(steps, reverse):
            order = range(hi - 1, lo - 1, -1) if reverse else range(lo, hi)

            def run(xc, *state, lo=lo, order=order):
                """One chunk: its input projection, then its steps; their outputs, then the state after them."""
                # one matrix product projects a chunk's inputs for all its gates; only one chunk's
                # projection is alive at a time, and during backward only one chunk's gradient of it
                with scope(f"{scope_name}.x_proj", t=lo):  # pictures and listings show it apart from the steps
                    xp = project(xc, w_t, bias)  # (hi - lo, B, gates * H)
                made = []
                for t in order:
                    with scope(scope_name, t=t):
                        new = self._step(xp[t - lo], state, weights)
                        if masks is None:
                            state = new
                            made.append(new[0])
                        else:  # padded steps: keep the old state, output zeros
                            m = masks[t]
                            state = tuple(ops.where(m, n, s) for n, s in zip(new, state))
                            made.append(ops.where(m, new[0], 0.0))
                return (*made, *state)

            with scope(f"{scope_name}.x_proj", t=lo):
                xc = x if hi - lo == steps else x[lo:hi]
            # a checkpointed chunk keeps only the state it starts from until backward runs it again
            result = checkpoint(run, xc, *state) if self.checkpoint_every else run(xc, *state)
            for t, out in zip(order, result):
                outs[t] = out
            state = tuple(result[len(order) :])
        return ops.stack(outs, axis=0), state[: len(self._state_sizes())]

    def _chunks(self, steps: int, reverse: bool) -> list[tuple[int, int]]:
        """Time ranges [lo, hi) of ``projection_chunk`` steps, in the order the direction runs."""
        size = self.checkpoint_every or self.projection_chunk or steps
        chunks = [(lo, min(lo + size, steps)) for lo in range(0, steps, size)]
        return chunks[::-1] if reverse else chunks

    @staticmethod
    def _length_masks(lengths, steps: int, batch: int, dtype, name: str):
        if lengths is None:
            return None
        lengths = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
        if lengths.shape != (batch,) or lengths.dtype.kind not in "iu":
            raise ValueError(
                f"{name}: lengths must be {batch} integers (one per sequence), got {lengths.dtype} of shape "
                f"{lengths.shape}"
            )
        if lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(f"{name}: lengths must lie in [1, {steps}], got {lengths.min()}..{lengths.max()}")
        return [(t < lengths)[:, None] for t in range(steps)]

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs cuDNN's weights into one buffer here; code written for it runs."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for key, default in [
            ("num_layers", 1),
            ("bias", True),
            ("batch_first", False),
            ("dropout", 0.0),
            ("bidirectional", False),
        ]:
            if getattr(self, key) != default:
                s += f", {key}={getattr(self, key)}"
        return s


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class RNN(_RecurrentLayer):
    """Elman RNN, ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    >>> import numpy as np, tinygrad_lstm as tl
    >>> rnn = tl.nn.RNN(3, 4, num_layers=2)
    >>> out, h_n = rnn(tl.Tensor(np.zeros((5, 2, 3), np.float32)))
    >>> out.shape, h_n.shape
    ((5, 2, 4), (2, 2, 4))
    """

    mode = "rnn"

    @devices.takes_device
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self._make_parameters()


class GRU(_RecurrentLayer):
    """PyTorch's GRU, gates (r, z, n), ``b_hn`` inside ``r * (W_hn h + b_hn)``."""

    mode = "gru"
    n_gates = 3

    @devices.takes_device
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype)
        self._make_parameters()

    def _step(self, xp, state, weights):
        return (gru_step(xp, state[0], weights),)


class LSTM(_RecurrentLayer):
    """PyTorch's LSTM, gates (i, f, g, o); ``forward(x, (h_0, c_0)=None) -> (output, (h_n, c_n))``.

    Each step, composed of the engine's primitives (so backward through time is ``loss.backward()``)::

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    Args:
        input_size: features of x_t.
        hidden_size: features of h_t and c_t.
        num_layers: stacked layers; layer k > 0 reads layer k - 1's output.
        bias: whether the layers have ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: inputs and outputs are (batch, seq, feature) instead of (seq, batch, feature).
        dropout: dropout on each layer's output but the last, in training mode.
        bidirectional: a second direction per layer (``_reverse`` parameters); outputs concatenate.
        proj_size: if > 0, h is projected by ``weight_hr_l{k}`` (proj_size, hidden_size).
        dtype: of the parameters (``tl.get_default_dtype()``, float32 unless set, as PyTorch's); inputs must match.
        variant: an LSTM variant as in :class:`LSTMCell` (``"cifg"``, ``"peephole"``, ...); its extra
            parameters are ``peephole_{i,f,o}_l{k}[_reverse]`` and ``weight_gates_l{k}[_reverse]``.
        forget_bias: if given, the forget gate's biases start at this value (1.0 keeps gradients
            alive early in training; Jozefowicz et al. 2015).
        flags: a variant's switches by name instead of ``variant=`` (``peephole=True``, ...).

    Shapes (L = seq length, N = batch, D = 2 if bidirectional else 1, H_out = proj_size or hidden_size):

    ============  ===========================================  ==========================
    value         shape                                        note
    ============  ===========================================  ==========================
    input         (L, N, input_size) or (N, L, input_size)     ``batch_first``; (L, input_size) unbatched
    h_0           (D * num_layers, N, H_out)                   zeros if not given
    c_0           (D * num_layers, N, hidden_size)             zeros if not given
    output        (L, N, D * H_out) or (N, L, D * H_out)       h_t of the last layer, every t
    h_n, c_n      like h_0, c_0                                each layer's final state
    ============  ===========================================  ==========================

    A ``PackedSequence`` input (``tl.nn.utils.rnn.pack_padded_sequence``) gives a packed output, and
    ``lengths=`` on a padded batch does the same without packing.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> lstm = tl.nn.LSTM(4, 8, num_layers=2, batch_first=True)
    >>> out, (h_n, c_n) = lstm(tl.randn(3, 5, 4, dtype=np.float32))
    >>> out.shape, h_n.shape, c_n.shape
    ((3, 5, 8), (2, 3, 8), (2, 3, 8))
    """

    mode = "lstm"

    @devices.takes_device
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        variant: str | LSTMVariant | None = None,
        forget_bias: float | None = None,
        **flags,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype)
        proj_size = check_int("LSTM", "proj_size", proj_size)
        if proj_size and proj_size >= self.hidden_size:
            raise ValueError(f"LSTM: proj_size must be in [0, hidden_size={self.hidden_size}), got {proj_size}")
        self.proj_size = proj_size
        self.variant = resolve_variant(variant, **flags)
        self.forget_bias = forget_bias
        self.n_gates = len(self.variant.gates)
        self._make_parameters()

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def _make_direction(self, suffix: str, layer_in: int) -> None:
        super()._make_direction(suffix, layer_in)
        if self.proj_size:
            bound = 1.0 / np.sqrt(self.hidden_size)
            setattr(
                self,
                f"weight_hr{suffix}",
                uniform_parameter((self.proj_size, self.hidden_size), bound, self.dtype),
            )
        make_variant_parameters(self, suffix, self.hidden_size, self.variant, self.forget_bias, self.dtype)

    def reset_parameters(self) -> None:
        """Draw every parameter again, as at construction (the forget bias set again too)."""
        reset_uniform(self, self.hidden_size)
        for layer in range(self.num_layers):
            for suffix in self._suffixes(layer):
                set_forget_bias(self, suffix, self.hidden_size, self.variant, self.forget_bias)

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.output_size, self.hidden_size)

    def _extra_state(self, state, batch, dtype):
        if not self.variant.gate_recurrence:
            return state
        gates = np.zeros((batch, len(self.variant.sigmoid_gates) * self.hidden_size), dtype=dtype)
        return (*state, Tensor(gates))

    def _step(self, xp, state, weights):
        return lstm_step(xp, state, weights, self.variant)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.proj_size:  # right after the sizes, where PyTorch prints it
            sizes = f"{self.input_size}, {self.hidden_size}"
            s = f"{sizes}, proj_size={self.proj_size}{s[len(sizes) :]}"
        if not self.variant.is_standard:
            s += f", variant={self.variant}"
        return s
