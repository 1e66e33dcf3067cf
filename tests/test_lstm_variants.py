"""LSTM variants against a NumPy reference written from the papers' equations, plus gradcheck.

Reference (Greff et al. 2015, "LSTM: A Search Space Odyssey", section 2; peepholes from Gers &
Schmidhuber 2000), with y the block output:
    z = g(W_z x + R_z y_prev + b_z)                              block input (NIAF: g = identity)
    i = sigma(W_i x + R_i y_prev + p_i * c_prev + b_i)           input gate (NIG: i = 1)
    f = sigma(W_f x + R_f y_prev + p_f * c_prev + b_f)           forget gate (NFG: f = 1; CIFG: f = 1 - i)
    c = z * i + c_prev * f
    o = sigma(W_o x + R_o y_prev + p_o * c + b_o)                output gate (NOG: o = 1)
    y = h(c) * o                                                 (NOAF: h = identity)
FGR adds sum over gates s of R_{s->gate} s_prev to the input, forget and output gates.
"""

import types

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.nn import GREFF_VARIANTS


def sigma(x):
    return 1 / (1 + np.exp(-x))


# Each variant as the papers define it, written here (never read from the code under test): the row
# blocks of weight_ih/weight_hh/biases in PyTorch's order, the gates with a sigmoid of their own, and
# which parts it has.
FULL = dict(peephole=True, input_activation=True, output_activation=True, coupled=False, gate_recurrence=False)
SPEC = {
    "standard": ("ifgo", "ifo", {**FULL, "peephole": False}),
    "vanilla": ("ifgo", "ifo", FULL),
    "nig": ("fgo", "fo", FULL),
    "nfg": ("igo", "io", FULL),
    "nog": ("ifg", "if", FULL),
    "niaf": ("ifgo", "ifo", {**FULL, "input_activation": False}),
    "noaf": ("ifgo", "ifo", {**FULL, "output_activation": False}),
    "np": ("ifgo", "ifo", {**FULL, "peephole": False}),
    "cifg": ("igo", "io", {**FULL, "coupled": True}),
    "fgr": ("ifgo", "ifo", {**FULL, "gate_recurrence": True}),
}


def reference_lstm(x, layer, H, name):
    """Run the equations above with the layer's weights, cut into per-gate blocks."""
    gates, sig, flags = SPEC[name]
    v = types.SimpleNamespace(
        **flags, input_gate="i" in gates, forget_gate="f" in gates or flags["coupled"], output_gate="o" in gates
    )
    P = {n: p.data for n, p in layer.named_parameters()}
    block = {g: slice(k * H, (k + 1) * H) for k, g in enumerate(gates)}
    W = {g: P["weight_ih_l0"][block[g]] for g in gates}
    R = {g: P["weight_hh_l0"][block[g]] for g in gates}
    b = {g: P["bias_ih_l0"][block[g]] + P["bias_hh_l0"][block[g]] for g in gates}
    peep = {g: P.get(f"peephole_{g}_l0", np.zeros(H)) if v.peephole else np.zeros(H) for g in "ifo"}
    gate_block = {g: slice(k * H, (k + 1) * H) for k, g in enumerate(sig)}
    T, B, _ = x.shape
    y, c = np.zeros((B, H)), np.zeros((B, H))
    prev = {g: np.zeros((B, H)) for g in sig}
    outputs = []

    def pre(g, xt, y, prev, extra=0.0):
        s = xt @ W[g].T + y @ R[g].T + b[g] + extra
        if v.gate_recurrence and g in sig:
            Rg = P["weight_gates_l0"]
            s = s + sum(prev[src] @ Rg[gate_block[g], gate_block[src]].T for src in sig)
        return s

    for t in range(T):
        state = (x[t], y, prev)
        z = np.tanh(pre("g", *state)) if v.input_activation else pre("g", *state)
        i = sigma(pre("i", *state, peep["i"] * c)) if v.input_gate else np.ones((B, H))
        if v.coupled:
            f = 1 - i
        else:
            f = sigma(pre("f", *state, peep["f"] * c)) if v.forget_gate else np.ones((B, H))
        c = z * i + c * f
        o = sigma(pre("o", *state, peep["o"] * c)) if v.output_gate else np.ones((B, H))
        y = (np.tanh(c) if v.output_activation else c) * o
        prev = {"i": i, "f": f, "o": o}
        outputs.append(y)
    return np.stack(outputs), y, c


NAMES = ["standard", *GREFF_VARIANTS]
assert set(NAMES) == set(SPEC)


@pytest.mark.parametrize("name", NAMES)
def test_variant_matches_paper_equations(name):
    tl.manual_seed(1)
    T, B, I, H = 5, 2, 3, 4
    layer = tl.nn.LSTM(I, H, variant=name, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((T, B, I))
    out, (h_n, c_n) = layer(tl.Tensor(x))
    ref_out, ref_h, ref_c = reference_lstm(x, layer, H, name)
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.data[0], ref_h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_n.data[0], ref_c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_variant_gradients_gradcheck(name):
    tl.manual_seed(3)
    T, B, I, H = 3, 2, 2, 3
    layer = tl.nn.LSTM(I, H, variant=name, dtype=np.float64)
    x = tl.Tensor(np.random.default_rng(4).standard_normal((T, B, I)), requires_grad=True)
    w = np.random.default_rng(5).standard_normal((T, B, H))
    names = [n for n, _ in layer.named_parameters() if n != "bias_ih_l0"]  # bias_ih and bias_hh act alike
    params = [layer.get_parameter(n) for n in names]

    def loss(x, *ps):  # the layer reads the tensors gradcheck perturbs
        out, (h, c) = tl.func.functional_call(layer, dict(zip(names, ps)), (x,))
        return (out * w).sum() + (c * c).sum()

    assert tl.gradcheck(loss, [x, *params])


def test_variant_parameter_names_and_shapes():
    H = 4
    cifg = tl.nn.LSTM(3, H, variant="cifg")
    assert {n: p.shape for n, p in cifg.named_parameters()} == {
        "weight_ih_l0": (3 * H, 3),
        "weight_hh_l0": (3 * H, H),
        "bias_ih_l0": (3 * H,),
        "bias_hh_l0": (3 * H,),
        "peephole_i_l0": (H,),
        "peephole_o_l0": (H,),
    }
    fgr = tl.nn.LSTM(3, H, variant="fgr", bidirectional=True)
    assert fgr.weight_gates_l0_reverse.shape == (3 * H, 3 * H)
    assert tl.nn.LSTM(3, H, peephole=True, coupled=True).variant == tl.nn.VARIANTS["cifg"]
    with pytest.raises(ValueError, match="unknown variant"):
        tl.nn.LSTM(3, H, variant="nope")


def test_forget_bias_initialisation():
    layer = tl.nn.LSTM(3, 4, forget_bias=1.0)
    total = layer.bias_ih_l0.data + layer.bias_hh_l0.data
    np.testing.assert_array_equal(total[4:8], np.ones(4))
    assert np.all(np.abs(total[:4]) <= 2 / np.sqrt(4))


def test_variant_cell_matches_layer():
    tl.manual_seed(6)
    cell = tl.nn.LSTMCell(3, 4, variant="fgr", dtype=np.float64)
    layer = tl.nn.LSTM(3, 4, variant="fgr", dtype=np.float64)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = np.random.default_rng(7).standard_normal((4, 2, 3))
    out, _ = layer(tl.Tensor(x))
    state = None
    for t in range(4):
        state = cell(tl.Tensor(x[t]), state)
        np.testing.assert_allclose(state[0].data, out.data[t], rtol=1e-12)


@pytest.mark.parametrize("name", ["vanilla", "fgr"])
def test_peephole_and_gate_recurrence_weights_start_uniform_in_plus_minus_one_over_sqrt_h(name):
    # PyTorch's recurrent initialisation, U(-1/sqrt(H), 1/sqrt(H)), for the variants' own weights too
    tl.manual_seed(8)
    H = 16
    layer = tl.nn.LSTM(3, H, variant=name)
    own = {n: p.data for n, p in layer.named_parameters() if n.startswith(("peephole", "weight_gates"))}
    assert set(own) == {"peephole_i_l0", "peephole_f_l0", "peephole_o_l0"} | (
        {"weight_gates_l0"} if name == "fgr" else set()
    )
    for n, w in own.items():
        assert np.all(np.abs(w) <= 1 / np.sqrt(H)), n
        assert np.abs(w).max() > 0.5 / np.sqrt(H), n  # spread over the range: not zeros, not a narrower bound
        assert w.min() < 0 < w.max(), n
