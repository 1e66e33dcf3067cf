"""Bad input gets one clear error naming the layer or operation and the argument, shape or key,
raised before anything changed; and where PyTorch accepts an input, it is accepted here with
PyTorch's numbers. Each refusal below is checked to be one PyTorch makes too (when torch is
importable); expected numbers come from PyTorch or from NumPy written out here, never from the code
under test."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lstm as tl


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _snapshot(module: tl.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in module.state_dict().items()}


def _assert_same(before: dict, module: tl.nn.Module) -> None:
    after = module.state_dict()
    assert after.keys() == before.keys()
    for k, v in before.items():
        np.testing.assert_array_equal(after[k], v, err_msg=k)


# ---- constructors: sizes, probabilities, ranges -------------------------------------------------------------
# Each case is a call that reads the same with tl.nn and torch.nn, so one lambda builds both.
BAD_CONSTRUCTORS = [
    pytest.param(
        lambda nn: nn.Linear(3, -1),
        ValueError,
        r"Linear: out_features must be an integer >= 0, got -1",
        id="Linear-out-negative",
    ),
    pytest.param(
        lambda nn: nn.Linear(-3, 1),
        ValueError,
        r"Linear: in_features must be an integer >= 0, got -3",
        id="Linear-in-negative",
    ),
    pytest.param(
        lambda nn: nn.Linear(3.5, 1),
        TypeError,
        r"Linear: in_features must be an integer, got 3.5",
        id="Linear-in-float",
    ),
    pytest.param(
        lambda nn: nn.Embedding(-2, 3),
        ValueError,
        r"Embedding: num_embeddings must be an integer >= 0, got -2",
        id="Embedding-num-negative",
    ),
    pytest.param(
        lambda nn: nn.Embedding(2, -3),
        ValueError,
        r"Embedding: embedding_dim must be an integer >= 0, got -3",
        id="Embedding-dim-negative",
    ),
    pytest.param(
        lambda nn: nn.Embedding(2.5, 3),
        TypeError,
        r"Embedding: num_embeddings must be an integer, got 2.5",
        id="Embedding-num-float",
    ),
    pytest.param(
        lambda nn: nn.Embedding(5, 2, padding_idx=5),
        ValueError,
        r"Embedding: padding_idx=5 is out of range for num_embeddings=5",
        id="Embedding-padding-too-big",
    ),
    pytest.param(
        lambda nn: nn.Embedding(5, 2, padding_idx=-6),
        ValueError,
        r"Embedding: padding_idx=-6 is out of range for num_embeddings=5",
        id="Embedding-padding-too-small",
    ),
    pytest.param(
        lambda nn: nn.Embedding(5, 2, padding_idx=1.5),
        TypeError,
        r"Embedding: padding_idx must be an integer, got 1.5",
        id="Embedding-padding-float",
    ),
    pytest.param(
        lambda nn: nn.Dropout(1.5), ValueError, r"Dropout: p must be in \[0, 1\], got 1.5", id="Dropout-above-1"
    ),
    pytest.param(
        lambda nn: nn.Dropout(-0.1), ValueError, r"Dropout: p must be in \[0, 1\], got -0.1", id="Dropout-negative"
    ),
    pytest.param(
        lambda nn: nn.Dropout("0.5"), TypeError, r"Dropout: p must be a number in \[0, 1\], got '0.5'", id="Dropout-str"
    ),
    pytest.param(
        lambda nn: nn.RNNCell(-3, 2),
        ValueError,
        r"RNNCell: input_size must be an integer >= 0, got -3",
        id="RNNCell-input-negative",
    ),
    pytest.param(
        lambda nn: nn.LSTMCell(3, -1),
        ValueError,
        r"LSTMCell: hidden_size must be an integer >= 0, got -1",
        id="LSTMCell-hidden-negative",
    ),
    pytest.param(
        lambda nn: nn.GRUCell(3, 2.5),
        TypeError,
        r"GRUCell: hidden_size must be an integer, got 2.5",
        id="GRUCell-hidden-float",
    ),
    pytest.param(
        lambda nn: nn.RNN(0, 4), ValueError, r"RNN: input_size must be an integer >= 1, got 0", id="RNN-input-0"
    ),
    pytest.param(
        lambda nn: nn.LSTM(3, 0), ValueError, r"LSTM: hidden_size must be an integer >= 1, got 0", id="LSTM-hidden-0"
    ),
    pytest.param(
        lambda nn: nn.GRU(-1, 4),
        ValueError,
        r"GRU: input_size must be an integer >= 1, got -1",
        id="GRU-input-negative",
    ),
    pytest.param(
        lambda nn: nn.LSTM(3.0, 2), TypeError, r"LSTM: input_size must be an integer, got 3.0", id="LSTM-input-float"
    ),
    pytest.param(
        lambda nn: nn.LSTM(3, 4, num_layers=0),
        ValueError,
        r"LSTM: num_layers must be an integer >= 1, got 0",
        id="LSTM-num_layers-0",
    ),
    pytest.param(
        lambda nn: nn.GRU(3, 4, num_layers=1.5),
        TypeError,
        r"GRU: num_layers must be an integer, got 1.5",
        id="GRU-num_layers-float",
    ),
    pytest.param(
        lambda nn: nn.LSTM(3, 4, dropout=2),
        ValueError,
        r"LSTM: dropout must be in \[0, 1\], got 2",
        id="LSTM-dropout-2",
    ),
    pytest.param(
        lambda nn: nn.RNN(3, 4, dropout=-0.5),
        ValueError,
        r"RNN: dropout must be in \[0, 1\], got -0.5",
        id="RNN-dropout-negative",
    ),
    pytest.param(
        lambda nn: nn.GRU(3, 4, dropout=True),
        TypeError,
        r"GRU: dropout must be a number in \[0, 1\], got True",
        id="GRU-dropout-bool",
    ),
    pytest.param(
        lambda nn: nn.LSTM(3, 4, proj_size=-1),
        ValueError,
        r"LSTM: proj_size must be an integer >= 0, got -1",
        id="LSTM-proj-negative",
    ),
    pytest.param(
        lambda nn: nn.LSTM(3, 4, proj_size=4),
        ValueError,
        r"LSTM: proj_size must be in \[0, hidden_size=4\), got 4",
        id="LSTM-proj-hidden",
    ),
    pytest.param(
        lambda nn: nn.LSTM(3, 4, proj_size=1.5),
        TypeError,
        r"LSTM: proj_size must be an integer, got 1.5",
        id="LSTM-proj-float",
    ),
    pytest.param(lambda nn: nn.GRU(3, 4, proj_size=1), TypeError, r"proj_size", id="GRU-proj"),
    pytest.param(
        lambda nn: nn.RNN(3, 4, nonlinearity="sigmoid"),
        ValueError,
        r"RNN: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'",
        id="RNN-nonlinearity",
    ),
    pytest.param(
        lambda nn: nn.GRU(3, 4, bias="no"), TypeError, r"GRU: bias must be True or False, got 'no'", id="GRU-bias-str"
    ),
    pytest.param(
        lambda nn: nn.Hardtanh(2.0, 1.0),
        ValueError,
        r"Hardtanh: max_val \(1.0\) must be greater than min_val \(2.0\)",
        id="Hardtanh-reversed",
    ),
]


@pytest.mark.parametrize("build, error, message", BAD_CONSTRUCTORS)
def test_a_bad_constructor_argument_is_named(build, error, message):
    with pytest.raises(error, match=message):
        build(tl.nn)


@pytest.mark.parametrize("build", [pytest.param(c.values[0], id=c.id) for c in BAD_CONSTRUCTORS])
def test_pytorch_refuses_the_same_constructor_arguments(build, torch):
    with pytest.raises(Exception):  # noqa: B017 - PyTorch's types vary (RuntimeError, AssertionError...)
        build(torch.nn)


# Arguments at the edge that PyTorch accepts: accepted here, with the same parameter shapes.
GOOD_CONSTRUCTORS = [
    pytest.param(lambda nn: nn.Linear(0, 2), id="Linear-0-in"),
    pytest.param(lambda nn: nn.Linear(2, 0), id="Linear-0-out"),
    pytest.param(lambda nn: nn.Embedding(0, 3), id="Embedding-0"),
    pytest.param(lambda nn: nn.Embedding(5, 2, padding_idx=-5), id="Embedding-padding--5"),
    pytest.param(lambda nn: nn.Embedding(5, 2, padding_idx=-1), id="Embedding-padding--1"),
    pytest.param(lambda nn: nn.RNNCell(3, 0), id="RNNCell-hidden-0"),
    pytest.param(lambda nn: nn.LSTMCell(0, 2), id="LSTMCell-input-0"),
    pytest.param(lambda nn: nn.Dropout(1.0), id="Dropout-1"),
    pytest.param(lambda nn: nn.LSTM(3, 4, num_layers=2, dropout=1.0), id="LSTM-dropout-1"),
    pytest.param(lambda nn: nn.LSTM(3, 4, proj_size=0), id="LSTM-proj-0"),
]


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # PyTorch's, for Linear(0, 2)
@pytest.mark.parametrize("build", GOOD_CONSTRUCTORS)
def test_edge_arguments_pytorch_accepts_are_accepted(build, torch):
    ours, theirs = build(tl.nn), build(torch.nn)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    assert getattr(ours, "padding_idx", None) == getattr(theirs, "padding_idx", None)


# ---- Embedding indices ------------------------------------------------------------------------------------------
BAD_INDICES = [
    pytest.param([-1], IndexError, r"Embedding: index out of range for num_embeddings=5: got -1", id="negative"),
    pytest.param(
        [[0, 2], [7, 1]], IndexError, r"Embedding: index out of range for num_embeddings=5: got 7", id="too-big"
    ),
    pytest.param([5, -5], IndexError, r"num_embeddings=5: got 5 .*2 of 2 do not", id="both"),
    pytest.param([1.0], TypeError, r"Embedding: indices must be integers, got dtype float64", id="float"),
    pytest.param([True], TypeError, r"Embedding: indices must be integers, got dtype bool", id="bool"),
]


@pytest.mark.parametrize("indices, error, message", BAD_INDICES)
def test_embedding_refuses_indices_out_of_range_or_not_integers(indices, error, message):
    emb = tl.nn.Embedding(5, 2, padding_idx=1, dtype=np.float64)
    before = _snapshot(emb)
    with pytest.raises(error, match=message):
        emb(np.array(indices))
    with pytest.raises(error, match=message):
        emb(tl.Tensor(np.array(indices)))
    _assert_same(before, emb)


@pytest.mark.parametrize("indices", [pytest.param(c.values[0], id=c.id) for c in BAD_INDICES])
def test_pytorch_refuses_the_same_indices(indices, torch):
    with pytest.raises((IndexError, RuntimeError)):
        torch.nn.Embedding(5, 2, padding_idx=1)(torch.tensor(indices))


@pytest.mark.parametrize(
    "indices", [np.array(3), np.array([], dtype=np.int64), np.array([[4, 0], [1, 1]], dtype=np.int32)]
)
def test_embedding_indices_pytorch_accepts_give_pytorchs_rows(indices, torch):
    theirs = torch.nn.Embedding(5, 2, padding_idx=-1).double()
    ours = tl.nn.Embedding(5, 2, padding_idx=-1, dtype=np.float64)
    ours.load_state_dict({"weight": theirs.weight.detach().numpy()})
    expected = theirs(torch.from_numpy(indices)).detach().numpy()
    np.testing.assert_allclose(ours(indices).data, expected, rtol=0, atol=1e-9)
    assert ours(indices).shape == expected.shape


# ---- losses: class weights, label smoothing, targets, ignore_index ----------------------------------------------
LOGITS = np.random.default_rng(0).standard_normal((4, 3))
PROBS = np.full((4, 3), 1 / 3)
INT_TARGET = np.array([0, 1, 2, 1])
BAD_LOSSES = [
    pytest.param(
        "cross_entropy",
        dict(target=INT_TARGET, weight=np.ones(2)),
        ValueError,
        r"cross_entropy: weight must hold one number per class, shape \(3,\); got float64 of shape \(2,\)",
        id="ce-weight-short",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=INT_TARGET, weight=np.ones(4)),
        ValueError,
        r"cross_entropy: weight .* of shape \(4,\)",
        id="ce-weight-long",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=INT_TARGET, weight=np.ones((1, 3))),
        ValueError,
        r"cross_entropy: weight .* of shape \(1, 3\)",
        id="ce-weight-2d",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=PROBS, weight=np.ones(2)),
        ValueError,
        r"cross_entropy: weight .* of shape \(2,\)",
        id="ce-probabilities-weight-short",
    ),
    pytest.param(
        "nll_loss",
        dict(target=INT_TARGET, weight=np.ones(2)),
        ValueError,
        r"nll_loss: weight must hold one number per class, shape \(3,\)",
        id="nll-weight-short",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=INT_TARGET, label_smoothing=1.5),
        ValueError,
        r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5",
        id="ce-smoothing-above-1",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=PROBS, label_smoothing=1.5),
        ValueError,
        r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5",
        id="ce-probabilities-smoothing-above-1",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=np.array([0, 3, 1, 1])),
        IndexError,
        r"cross_entropy: target 3 is out of bounds for 3 classes",
        id="ce-target-too-big",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=np.array([0, -1, 1, 1])),
        IndexError,
        r"cross_entropy: target -1 is out of bounds for 3 classes .*ignore_index=-100",
        id="ce-target-negative",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=np.array([0, -1, 1, 1]), ignore_index=2),
        IndexError,
        r"cross_entropy: target -1 is out of bounds .*ignore_index=2",
        id="ce-target-negative-other-ignore",
    ),
    pytest.param(
        "nll_loss",
        dict(target=np.array([0, 1, 1, 7])),
        IndexError,
        r"nll_loss: target 7 is out of bounds for 3 classes",
        id="nll-target-too-big",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=PROBS, ignore_index=0),
        ValueError,
        r"cross_entropy: ignore_index=0 is not supported for probability",
        id="ce-probabilities-ignore-index",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=np.zeros(4)),
        ValueError,
        r"cross_entropy: probability target shape \(4,\) differs from input shape \(4, 3\)",
        id="ce-float-target-of-class-shape",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=INT_TARGET, reduction="avg"),
        ValueError,
        r"cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'",
        id="ce-reduction",
    ),
    pytest.param(
        "binary_cross_entropy_with_logits",
        dict(target=np.zeros((4, 3)), weight=np.ones(4)),
        ValueError,
        r"binary_cross_entropy_with_logits: weight of shape \(4,\) does not broadcast to the input shape \(4, 3\)",
        id="bce-weight",
    ),
    pytest.param(
        "binary_cross_entropy_with_logits",
        dict(target=np.zeros((4, 3)), pos_weight=np.ones(4)),
        ValueError,
        r"binary_cross_entropy_with_logits: pos_weight of shape \(4,\)",
        id="bce-pos-weight",
    ),
]


def _torch_arguments(torch, kwargs: dict) -> dict:
    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


@pytest.mark.parametrize("name, kwargs, error, message", BAD_LOSSES)
def test_a_bad_loss_argument_is_named(name, kwargs, error, message):
    logits = tl.Tensor(LOGITS.copy(), requires_grad=True)
    with pytest.raises(error, match=message):
        getattr(tl.nn.functional, name)(logits, **kwargs)
    assert logits.grad is None


@pytest.mark.parametrize("name, kwargs", [pytest.param(*c.values[:2], id=c.id) for c in BAD_LOSSES])
def test_pytorch_refuses_the_same_loss_arguments(name, kwargs, torch):
    with pytest.raises((ValueError, IndexError, RuntimeError)):
        getattr(torch.nn.functional, name)(torch.from_numpy(LOGITS), **_torch_arguments(torch, kwargs))


# What PyTorch accepts, with its numbers: negative smoothing means none (PyTorch's result, not an error),
# ignored targets may lie outside [0, C), a negative ignore_index is allowed with probability targets.
GOOD_LOSSES = [
    pytest.param("cross_entropy", dict(target=INT_TARGET, label_smoothing=-0.1), id="ce-smoothing-negative"),
    pytest.param("cross_entropy", dict(target=INT_TARGET, label_smoothing=1.0), id="ce-smoothing-1"),
    pytest.param(
        "cross_entropy",
        dict(target=INT_TARGET, weight=np.array([0.2, 1.0, 3.0]), ignore_index=1, label_smoothing=0.3),
        id="ce-weight-ignore-smoothing",
    ),
    pytest.param(
        "cross_entropy",
        dict(target=np.array([0, -1, 2, -1]), ignore_index=-1, reduction="none", label_smoothing=0.2),
        id="ce-ignore-negative-none",
    ),
    pytest.param("cross_entropy", dict(target=PROBS, ignore_index=-1), id="ce-probabilities-negative-ignore"),
    pytest.param(
        "cross_entropy",
        dict(target=PROBS, weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.4, reduction="sum"),
        id="ce-probabilities-weight-smoothing",
    ),
    pytest.param("nll_loss", dict(target=np.array([0, 5, 2, 5]), ignore_index=5), id="nll-ignore-out-of-range"),
    pytest.param(
        "binary_cross_entropy_with_logits",
        dict(target=np.eye(4, 3), weight=np.array([1.0, 2.0, 3.0]), pos_weight=np.ones((1, 3)) * 2),
        id="bce-broadcast-weights",
    ),
]


@pytest.mark.parametrize("name, kwargs", GOOD_LOSSES)
def test_loss_arguments_pytorch_accepts_give_pytorchs_numbers(name, kwargs, torch):
    logits = tl.Tensor(LOGITS.copy(), requires_grad=True)
    ours = getattr(tl.nn.functional, name)(logits, **kwargs)
    ours.sum().backward()
    t_logits = torch.tensor(LOGITS, requires_grad=True)
    theirs = getattr(torch.nn.functional, name)(t_logits, **_torch_arguments(torch, kwargs))
    theirs.sum().backward()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(logits.grad.data, t_logits.grad.numpy(), rtol=0, atol=1e-9)


# ---- recurrent states (hx): the shapes as passed, and the kind of value -----------------------------------------
def _zeros(*shape, dtype=np.float64):
    return np.zeros(shape, dtype=dtype)


# (layer, constructor arguments, input shape, hx of NumPy arrays, error, message)
BAD_HX = [
    pytest.param(
        "LSTM",
        dict(input_size=3, hidden_size=4),
        (5, 2, 3),
        (_zeros(1, 3, 4), _zeros(1, 2, 4)),
        ValueError,
        r"LSTM: hx\[0\] of shape \(1, 3, 4\) should be \(1, 2, 4\) for input of shape \(5, 2, 3\)",
        id="lstm-h0-batch",
    ),
    pytest.param(
        "LSTM",
        dict(input_size=3, hidden_size=4),
        (5, 2, 3),
        (_zeros(1, 2, 4), _zeros(1, 2, 5)),
        ValueError,
        r"LSTM: hx\[1\] of shape \(1, 2, 5\) should be \(1, 2, 4\)",
        id="lstm-c0-size",
    ),
    pytest.param(
        "LSTM",
        dict(input_size=3, hidden_size=4),
        (5, 3),
        (_zeros(1, 3), _zeros(1, 4)),
        ValueError,
        r"LSTM: hx\[0\] of shape \(1, 3\) should be \(1, 4\) for input of shape \(5, 3\)",
        id="lstm-unbatched-h0",
    ),
    pytest.param(
        "LSTM",
        dict(input_size=3, hidden_size=4),
        (5, 3),
        (_zeros(1, 1, 4), _zeros(1, 1, 4)),
        ValueError,
        r"LSTM: hx\[0\] of shape \(1, 1, 4\) should be \(1, 4\) for input of shape \(5, 3\)",
        id="lstm-unbatched-3d-hx",
    ),
    pytest.param(
        "LSTM",
        dict(input_size=3, hidden_size=4, batch_first=True),
        (2, 5, 3),
        (_zeros(1, 5, 4), _zeros(1, 5, 4)),
        ValueError,
        r"LSTM: hx\[0\] of shape \(1, 5, 4\) should be \(1, 2, 4\) for input of shape \(2, 5, 3\)",
        id="lstm-batch-first-h0",
    ),
    pytest.param(
        "LSTM",
        dict(input_size=3, hidden_size=4, proj_size=2),
        (5, 2, 3),
        (_zeros(1, 2, 4), _zeros(1, 2, 4)),
        ValueError,
        r"LSTM: hx\[0\] of shape \(1, 2, 4\) should be \(1, 2, 2\)",
        id="lstm-proj-h0",
    ),
    pytest.param(
        "LSTM",
        dict(input_size=3, hidden_size=4),
        (5, 2, 3),
        _zeros(1, 2, 4),
        TypeError,
        r"LSTM: hx must be a tuple \(h_0, c_0\), got ndarray of shape \(1, 2, 4\)",
        id="lstm-one-tensor",
    ),
    pytest.param(
        "LSTM",
        dict(input_size=3, hidden_size=4),
        (5, 2, 3),
        (_zeros(1, 2, 4, dtype=np.float32), _zeros(1, 2, 4, dtype=np.float32)),
        TypeError,
        r"LSTM: hx\[0\] has dtype float32, the input float64",
        id="lstm-hx-dtype",
    ),
    pytest.param(
        "GRU",
        dict(input_size=3, hidden_size=4),
        (5, 2, 3),
        _zeros(2, 2, 4),
        ValueError,
        r"GRU: hx of shape \(2, 2, 4\) should be \(1, 2, 4\) for input of shape \(5, 2, 3\)",
        id="gru-layers",
    ),
    pytest.param(
        "RNN",
        dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True),
        (5, 2, 3),
        _zeros(2, 2, 4),
        ValueError,
        r"RNN: hx of shape \(2, 2, 4\) should be \(4, 2, 4\)",
        id="rnn-bidirectional-layers",
    ),
    pytest.param(
        "LSTMCell",
        dict(input_size=3, hidden_size=4),
        (2, 3),
        _zeros(2, 4),
        TypeError,
        r"LSTMCell: hx must be a tuple \(h, c\), got ndarray of shape \(2, 4\)",
        id="lstmcell-one-tensor",
    ),
    pytest.param(
        "LSTMCell",
        dict(input_size=3, hidden_size=4),
        (2, 3),
        _zeros(2, 2, 4),
        TypeError,
        r"LSTMCell: hx must be a tuple \(h, c\), got ndarray of shape \(2, 2, 4\)",
        id="lstmcell-stacked-tensor",
    ),
    pytest.param(
        "LSTMCell",
        dict(input_size=3, hidden_size=4),
        (2, 3),
        (_zeros(2, 4),) * 3,
        ValueError,
        r"LSTMCell: hx must be a tuple \(h, c\) of 2 tensors, got 3",
        id="lstmcell-three",
    ),
    pytest.param(
        "LSTMCell",
        dict(input_size=3, hidden_size=4),
        (2, 3),
        (_zeros(3, 4), _zeros(2, 4)),
        ValueError,
        r"LSTMCell: h of shape \(3, 4\) should be \(2, 4\) for input of shape \(2, 3\)",
        id="lstmcell-h-batch",
    ),
    pytest.param(
        "GRUCell",
        dict(input_size=3, hidden_size=4),
        (2, 3),
        (_zeros(2, 4),),
        TypeError,
        r"GRUCell: hx must be one tensor of shape \(2, 4\), got tuple",
        id="grucell-tuple",
    ),
    pytest.param(
        "GRUCell",
        dict(input_size=3, hidden_size=4),
        (2, 3),
        _zeros(2, 5),
        ValueError,
        r"GRUCell: hx of shape \(2, 5\) should be \(2, 4\) for input of shape \(2, 3\)",
        id="grucell-size",
    ),
    pytest.param(
        "RNNCell",
        dict(input_size=3, hidden_size=4),
        (2, 3),
        _zeros(2, 4, dtype=np.float32),
        TypeError,
        r"RNNCell: hx has dtype float32, the input float64",
        id="rnncell-dtype",
    ),
]


def _to_torch(torch, value):
    if isinstance(value, tuple):
        return tuple(_to_torch(torch, v) for v in value)
    return torch.from_numpy(value)


@pytest.mark.parametrize("layer, kwargs, x_shape, hx, error, message", BAD_HX)
def test_a_bad_hx_is_named_with_the_shapes_passed(layer, kwargs, x_shape, hx, error, message):
    module = getattr(tl.nn, layer)(**kwargs, dtype=np.float64)
    before = _snapshot(module)
    with pytest.raises(error, match=message):
        module(tl.Tensor(_zeros(*x_shape)), hx)
    _assert_same(before, module)


@pytest.mark.parametrize("layer, kwargs, x_shape, hx", [pytest.param(*c.values[:4], id=c.id) for c in BAD_HX])
def test_pytorch_refuses_the_same_hx(layer, kwargs, x_shape, hx, torch):
    module = getattr(torch.nn, layer)(**kwargs).double()
    with pytest.raises((ValueError, TypeError, RuntimeError, IndexError, AttributeError)):
        module(torch.from_numpy(_zeros(*x_shape)), _to_torch(torch, hx))


GOOD_HX = [
    pytest.param("LSTM", dict(input_size=3, hidden_size=4), (5, 3), ((1, 4), (1, 4)), id="lstm-unbatched"),
    pytest.param(
        "LSTM", dict(input_size=3, hidden_size=4, batch_first=True), (2, 5, 3), ((1, 2, 4),) * 2, id="lstm-batch-first"
    ),
    pytest.param(
        "LSTM", dict(input_size=3, hidden_size=4, proj_size=2), (5, 2, 3), ((1, 2, 2), (1, 2, 4)), id="lstm-proj"
    ),
    pytest.param(
        "GRU", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), (5, 2, 3), (4, 2, 4), id="gru-2x2"
    ),
    pytest.param("LSTMCell", dict(input_size=3, hidden_size=4), (3,), ((4,), (4,)), id="lstmcell-unbatched"),
    pytest.param("GRUCell", dict(input_size=3, hidden_size=4), (2, 3), (2, 4), id="grucell"),
]


def _first(out):
    """The first array of what a layer returns (output, or h for a cell)."""
    return _first(out[0]) if isinstance(out, tuple) else out


@pytest.mark.parametrize("layer, kwargs, x_shape, hx_shapes", GOOD_HX)
def test_hx_pytorch_accepts_gives_pytorchs_numbers(layer, kwargs, x_shape, hx_shapes, torch):
    rng = np.random.default_rng(1)
    theirs = getattr(torch.nn, layer)(**kwargs).double()
    ours = getattr(tl.nn, layer)(**kwargs, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal(x_shape)
    if isinstance(hx_shapes[0], tuple):
        hx = tuple(rng.standard_normal(s) for s in hx_shapes)
    else:
        hx = rng.standard_normal(hx_shapes)
    expected = _first(theirs(torch.from_numpy(x), _to_torch(torch, hx))).detach().numpy()
    np.testing.assert_allclose(_first(ours(tl.Tensor(x), hx)).data, expected, rtol=0, atol=1e-9)


# ---- optimizers: a step that cannot finish changes nothing ------------------------------------------------------
def _trained(optimizer, **options):
    """A float64 Linear(3, 2), its optimizer after one step, and a fresh gradient for the next."""
    lin = tl.nn.Linear(3, 2, dtype=np.float64)
    lin.load_state_dict({"weight": np.arange(6.0).reshape(2, 3) / 10, "bias": np.array([0.5, -0.5])})
    opt = getattr(tl.optim, optimizer)(lin.parameters(), lr=0.1, **options)
    for _ in range(2):
        opt.zero_grad()
        (lin(tl.Tensor(np.array([[1.0, -2.0, 3.0]]))) ** 2).sum().backward()
        if _ == 0:
            opt.step()
    return lin, opt


def _optimizer_state(opt) -> dict:
    return {k: {n: np.array(v, copy=True) for n, v in s.items()} for k, s in opt.state_dict()["state"].items()}


def _assert_same_state(before: dict, opt) -> None:
    after = _optimizer_state(opt)
    assert after.keys() == before.keys()
    for k in before:
        assert after[k].keys() == before[k].keys()
        for n in before[k]:
            np.testing.assert_array_equal(after[k][n], before[k][n], err_msg=f"{k}.{n}")


OPTIMIZERS = [
    pytest.param("SGD", dict(momentum=0.9), id="SGD"),
    pytest.param("Adam", dict(amsgrad=True), id="Adam"),
    pytest.param("AdamW", {}, id="AdamW"),
    pytest.param("RMSprop", dict(momentum=0.5, centered=True), id="RMSprop"),
    pytest.param("Adagrad", dict(lr_decay=0.1, initial_accumulator_value=0.2), id="Adagrad"),
    pytest.param("Adadelta", dict(rho=0.8), id="Adadelta"),
    pytest.param("Adamax", {}, id="Adamax"),
    pytest.param("NAdam", dict(decoupled_weight_decay=True, weight_decay=0.1), id="NAdam"),
    pytest.param("RAdam", dict(weight_decay=0.1), id="RAdam"),
]


@pytest.mark.parametrize("optimizer, options", OPTIMIZERS)
def test_a_step_on_a_read_only_parameter_names_it_and_changes_nothing(optimizer, options):
    lin, opt = _trained(optimizer, **options)
    params, state = _snapshot(lin), _optimizer_state(opt)
    lin.bias.data.flags.writeable = False  # the second parameter: the first would be updated before it
    with pytest.raises(ValueError, match=rf"{optimizer}.step: parameter 1 \('bias'\) of shape \(2,\): .*read-only"):
        opt.step()
    _assert_same(params, lin)
    _assert_same_state(state, opt)


@pytest.mark.parametrize("optimizer, options", OPTIMIZERS)
def test_a_step_with_a_gradient_of_another_shape_changes_nothing(optimizer, options):
    lin, opt = _trained(optimizer, **options)
    params, state = _snapshot(lin), _optimizer_state(opt)
    lin.bias.grad.data = np.ones((1, 2))  # around the .grad setter, which refuses another shape
    with pytest.raises(ValueError, match=rf"{optimizer}.step: parameter 1 .*its gradient has shape \(1, 2\)"):
        opt.step()
    _assert_same(params, lin)
    _assert_same_state(state, opt)


# ---- optimizer.load_state_dict: checked at load time, not in the next step() ------------------------------------
def _state_change(name: str, value):
    def change(sd: dict) -> dict:
        return {**sd, "state": {0: {**sd["state"][0], name: value}, 1: sd["state"][1]}}

    return change


def _group_change(name: str, value):
    def change(sd: dict) -> dict:
        return {**sd, "param_groups": [{**sd["param_groups"][0], name: value}]}

    return change


def _state_without(name: str):
    def change(sd: dict) -> dict:
        return {**sd, "state": {0: {k: v for k, v in sd["state"][0].items() if k != name}, 1: sd["state"][1]}}

    return change


BAD_OPTIMIZER_STATES = [
    pytest.param(
        "Adam",
        _state_change("exp_avg", 0.0),
        r"Adam.load_state_dict: state\[0\]\['exp_avg'\] must be an array of the parameter's shape \(2, 3\), got 0.0",
        id="adam-scalar-moment",
    ),
    pytest.param(
        "Adam",
        _state_change("exp_avg_sq", np.zeros((3, 2))),
        r"state\[0\]\['exp_avg_sq'\] must be an array of the parameter's shape \(2, 3\), got shape \(3, 2\)",
        id="adam-moment-shape",
    ),
    pytest.param(
        "Adam",
        _state_change("exp_avg", [[0.0, 0.0, 0.0], [0.0, 0.0]]),
        r"Adam.load_state_dict: state\[0\]\['exp_avg'\]: a list that is not an array of one shape",
        id="adam-ragged-list",
    ),
    pytest.param(
        "Adam",
        _state_without("exp_avg_sq"),
        r"state\[0\]\['exp_avg_sq'\] must be an array .*got nothing \(the key is missing\)",
        id="adam-missing-moment",
    ),
    pytest.param(
        "Adam",
        _state_change("step", "one"),
        r"Adam.load_state_dict: state\[0\]\['step'\] must be a whole number >= 0, got 'one'",
        id="adam-step-str",
    ),
    pytest.param(
        "Adam",
        _group_change("amsgrad", True),
        r"state\[0\]\['max_exp_avg_sq'\] must be an array .*missing",
        id="adam-amsgrad-without-its-state",
    ),
    pytest.param(
        "Adam",
        _group_change("lr", "0.1"),
        r"Adam.load_state_dict: param_groups\[0\]\['lr'\] is '0.1', not of the kind Adam takes",
        id="adam-lr-str",
    ),
    pytest.param(
        "Adam",
        _group_change("betas", (0.9,)),
        r"param_groups\[0\]\['betas'\] is \(0.9,\)",
        id="adam-betas-short",
    ),
    pytest.param(
        "SGD",
        _state_change("momentum_buffer", np.zeros(6)),
        r"SGD.load_state_dict: state\[0\]\['momentum_buffer'\] must be an array .* got shape \(6,\)",
        id="sgd-buffer-shape",
    ),
    pytest.param(
        "SGD",
        _group_change("momentum", None),
        r"SGD.load_state_dict: param_groups\[0\]\['momentum'\] is None",
        id="sgd-momentum-none",
    ),
    pytest.param(
        "RMSprop",
        _state_without("square_avg"),
        r"RMSprop.load_state_dict: state\[0\]\['square_avg'\] must be an array",
        id="rmsprop-missing-average",
    ),
    pytest.param(
        "RMSprop",
        _group_change("centered", True),
        r"RMSprop.load_state_dict: state\[0\]\['grad_avg'\] must be an array .*missing",
        id="rmsprop-centered-without-its-state",
    ),
    pytest.param(
        "RMSprop",
        lambda sd: {**sd, "state": {0: [1, 2]}},
        r"RMSprop.load_state_dict: state\[0\] must be a dict, got list",
        id="rmsprop-state-list",
    ),
]


@pytest.mark.parametrize("optimizer, change, message", BAD_OPTIMIZER_STATES)
def test_optimizer_state_of_the_wrong_kind_is_refused_at_load_time(optimizer, change, message):
    options = dict(momentum=0.9) if optimizer == "SGD" else {}
    lin, opt = _trained(optimizer, **options)
    bad = change(opt.state_dict())
    params, state, groups = _snapshot(lin), _optimizer_state(opt), opt.state_dict()["param_groups"]
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(bad)
    _assert_same_state(state, opt)
    assert opt.state_dict()["param_groups"] == groups
    opt.step()  # the optimizer still works, from where it was
    assert not np.array_equal(lin.weight.data, params["weight"])


@pytest.mark.parametrize("optimizer, change", [pytest.param(*c.values[:2], id=c.id) for c in BAD_OPTIMIZER_STATES])
def test_pytorch_refuses_the_same_optimizer_state_at_load_or_at_the_next_step(optimizer, change, torch):
    options = dict(momentum=0.9) if optimizer == "SGD" else {}
    lin = torch.nn.Linear(3, 2).double()
    opt = getattr(torch.optim, optimizer)(lin.parameters(), lr=0.1, **options)
    for _ in range(2):
        lin(torch.ones(1, 3, dtype=torch.float64)).sum().backward()
        opt.step()
    # the same change to PyTorch's own state_dict (its step counts are tensors, its arrays tensors)
    state = {
        k: {n: v.numpy() if hasattr(v, "numpy") else v for n, v in s.items()}
        for k, s in opt.state_dict()["state"].items()
    }
    bad = change({"state": state, "param_groups": opt.state_dict()["param_groups"]})
    bad["state"] = {
        k: {n: torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v for n, v in s.items()}
        if isinstance(s, dict)
        else s
        for k, s in bad["state"].items()
    }
    with pytest.raises((ValueError, TypeError, KeyError, RuntimeError, AttributeError)):
        opt.load_state_dict(bad)
        opt.step()


# ---- state dicts from PyTorch: tensors accepted as they are -----------------------------------------------------
def test_module_load_state_dict_takes_pytorch_tensors_even_ones_that_require_grad(torch):
    theirs = torch.nn.LSTM(3, 4).double()
    ours = tl.nn.LSTM(3, 4, dtype=np.float64)
    ours.load_state_dict(dict(theirs.named_parameters()))  # Parameters: they require grad
    for name, p in theirs.named_parameters():
        np.testing.assert_array_equal(ours.get_parameter(name).data, p.detach().numpy())
    x = np.random.default_rng(2).standard_normal((5, 2, 3))
    np.testing.assert_allclose(
        ours(tl.Tensor(x))[0].data, theirs(torch.from_numpy(x))[0].detach().numpy(), rtol=0, atol=1e-9
    )


@pytest.mark.parametrize("optimizer, options", OPTIMIZERS)
def test_optimizer_load_state_dict_takes_pytorchs_and_steps_as_pytorch_does(optimizer, options, torch):
    t_lin = torch.nn.Linear(3, 2).double()
    t_opt = getattr(torch.optim, optimizer)(t_lin.parameters(), lr=0.1, **options)
    lin = tl.nn.Linear(3, 2, dtype=np.float64)
    x = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]])

    def t_step():
        t_opt.zero_grad()
        (t_lin(torch.from_numpy(x)) ** 2).sum().backward()
        t_opt.step()

    for _ in range(3):
        t_step()
    lin.load_state_dict(t_lin.state_dict())
    opt = getattr(tl.optim, optimizer)(lin.parameters(), lr=0.5)  # lr and the rest come from PyTorch's groups
    opt.load_state_dict(t_opt.state_dict())
    for _ in range(2):
        t_step()
        opt.zero_grad()
        (lin(tl.Tensor(x)) ** 2).sum().backward()
        opt.step()
    for name, p in t_lin.named_parameters():
        np.testing.assert_allclose(lin.get_parameter(name).data, p.detach().numpy(), rtol=0, atol=1e-9)


BAD_MODULE_STATES = [
    pytest.param(
        {"weight": [[1.0, 2.0, 3.0], [4.0, 5.0]], "bias": np.zeros(2)},
        ValueError,
        r"load_state_dict for Linear failed, nothing was changed: weight: a list that is not an array of one shape",
        id="ragged-list",
    ),
    pytest.param(
        {"weight": np.zeros((3, 2)), "bias": np.zeros(2)},
        ValueError,
        r"weight: shape \(3, 2\) in the state_dict, \(2, 3\) in the module",
        id="transposed",
    ),
    pytest.param(
        {"weight": np.zeros((2, 3)), "bias": np.array(["a", "b"])},
        ValueError,
        r"bias: dtype <U1 is not numeric",
        id="strings",
    ),
    pytest.param([("weight", np.zeros((2, 3)))], TypeError, r"load_state_dict for Linear: expected a dict", id="list"),
]


@pytest.mark.parametrize("state, error, message", BAD_MODULE_STATES)
def test_module_load_state_dict_refuses_and_changes_nothing(state, error, message):
    lin = tl.nn.Linear(3, 2, dtype=np.float64)
    before = _snapshot(lin)
    with pytest.raises(error, match=message):
        lin.load_state_dict(state)
    _assert_same(before, lin)


# ---- tl.save / tl.load: errors name the key path; a failed save leaves the old file byte for byte ---------------
def _cycle() -> dict:
    d = {"w": np.eye(2), "opt": {"groups": [1.0]}}
    d["opt"]["groups"].append(d)
    return d


def _deep() -> list:
    outer = inner = []
    for _ in range(150):
        inner.append([])
        inner = inner[0]
    return outer


BAD_SAVES = [
    pytest.param(
        _cycle,
        ValueError,
        r"save: the dict at \['opt'\]\['groups'\]\[1\] is also one that holds it \(a reference cycle\)",
        id="self-reference",
    ),
    pytest.param(_deep, ValueError, r"save: nesting deeper than 100 levels at \[0\]\[0\]", id="too-deep"),
    pytest.param(
        lambda: {"vocab": {"chars": np.array(["a", None], dtype=object)}},
        TypeError,
        r"save: the array at \['vocab'\]\['chars'\] has dtype object",
        id="object-array",
    ),
    pytest.param(
        lambda: {"model": {"layers": [np.ones(2), {1, 2}]}},
        TypeError,
        r"save: cannot save the set at \['model'\]\['layers'\]\[1\] without pickle",
        id="set",
    ),
    pytest.param(
        lambda: {"state": {(0, 1): np.ones(2)}},
        TypeError,
        r"save: dict keys must be str or int, got tuple \(0, 1\) at \['state'\]",
        id="tuple-key",
    ),
]


@pytest.mark.parametrize("make, error, message", BAD_SAVES)
def test_a_failed_save_names_the_key_path_and_leaves_the_file_byte_equal(tmp_path, make, error, message):
    path = tmp_path / "model.npz"
    tl.save({"w": np.arange(4.0)}, path)
    old = path.read_bytes()
    with pytest.raises(error, match=message):
        tl.save(make(), path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left behind


def test_a_tree_with_a_shared_branch_is_not_a_cycle(tmp_path):
    shared = np.arange(3.0)
    tl.save({"a": [shared, shared], "b": {"c": shared}}, tmp_path / "s.npz")
    back = tl.load(tmp_path / "s.npz")
    np.testing.assert_array_equal(back["b"]["c"], [0.0, 1.0, 2.0])
    assert len(back["a"]) == 2


def test_save_takes_pytorch_tensors_as_arrays(tmp_path, torch):
    lin = torch.nn.Linear(3, 2).double()
    tl.save({"model": lin.state_dict(), "w": lin.weight}, tmp_path / "t.npz")  # lin.weight requires grad
    back = tl.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(back["model"]["bias"], lin.bias.detach().numpy())
    np.testing.assert_array_equal(back["w"], lin.weight.detach().numpy())


def test_load_names_the_object_array_in_a_plain_npz_and_never_unpickles(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, fine=np.ones(2), names=np.array(["a", None], dtype=object))
    with pytest.raises(
        ValueError, match=r"load: .*foreign.npz: the entry at 'names' is an object array.*never unpickles"
    ):
        tl.load(path)


def test_load_names_the_key_path_of_an_object_array_in_a_saved_tree(tmp_path):
    path = tmp_path / "tree.npz"
    tl.save({"state": {0: {"exp_avg": np.ones(2)}}}, path)
    with np.load(path) as archive:
        entries = {k: archive[k] for k in archive.files}
    (key,) = [k for k in entries if k != "__structure__"]
    entries[key] = np.array([1, None], dtype=object)  # what a hand-edited archive could hold
    np.savez(path, **entries)
    with pytest.raises(ValueError, match=r"the entry at \['state'\]\[0\]\['exp_avg'\] is an object array") as e:
        tl.load(path)
    assert "damaged" not in str(e.value)


# ---- .grad assigned by hand, and detach_ ---------------------------------------------------------------------------
def test_a_grad_assigned_by_hand_must_be_a_tensor_of_the_same_shape():
    x = tl.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"grad: a gradient of shape \(3,\) for a tensor of shape \(2,\)"):
        x.grad = tl.Tensor(np.ones(3))
    with pytest.raises(TypeError, match="grad: a gradient must be a Tensor or None, got ndarray"):
        x.grad = np.ones(2)
    assert x.grad is None  # nothing changed
    x.grad = tl.Tensor(np.full(2, 5.0, dtype=np.float32))  # another dtype is accepted, as PyTorch does
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [7.0, 7.0])


def test_detach_in_place_makes_a_leaf_that_needs_no_grad_and_refuses_views():
    x = tl.Tensor(np.ones(3), requires_grad=True)
    y = x * 2.0
    assert y.detach_() is y and not y.requires_grad and y.is_leaf and y.grad_fn is None
    (x * y).sum().backward()  # y is a constant now
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])
    v = (x * 2.0)[:2]
    with pytest.raises(RuntimeError, match=r"detach_: a view cannot be detached in place .* use detach\(\)"):
        v.detach_()
    assert v.requires_grad


# ---- the recurrent layers' product h @ W.T (ops.matmul_t: by W.T laid out apart, its VJP by W) ----------------
@pytest.mark.parametrize(
    "a_shape, b_shape, t_shape, needs_grad, dtype, error, message",
    [
        ((2, 3), (3, 4), (3, 4), False, np.float64, ValueError, r"matmul_t: a of shape \(2, 3\), b of shape \(3, 4\) "
         r"and b_t of shape \(3, 4\): b must be a matrix, b_t its transpose"),
        ((2, 5), (3, 4), (4, 3), False, np.float64, ValueError, r"a's last axis as long as b's first"),
        ((2, 3), (3, 4, 1), (1, 4, 3), False, np.float64, ValueError, r"b must be a matrix"),
        ((2, 3), (3, 4), (4, 3), True, np.float64, ValueError, r"matmul_t: b_t \(shape \(4, 3\)\) requires grad"),
        ((2, 3), (3, 4), (4, 3), False, np.float32, TypeError, r"matmul_t: a, b and b_t must share one float dtype, "
         r"got float64, float64 and float32"),
    ],
)  # fmt: skip
def test_matmul_t_refuses_mismatched_operands_and_records_nothing(
    a_shape, b_shape, t_shape, needs_grad, dtype, error, message
):
    rng = np.random.default_rng(0)
    a = tl.Tensor(rng.standard_normal(a_shape), requires_grad=True)
    b = tl.Tensor(rng.standard_normal(b_shape), requires_grad=True)
    b_t = tl.Tensor(rng.standard_normal(t_shape).astype(dtype), requires_grad=needs_grad)
    with tl.Tape() as tape, pytest.raises(error, match=message):
        tl.ops.matmul_t(a, b, b_t)
    assert tape.entries == []


def test_matmul_t_of_a_laid_out_transpose_is_a_times_w_transposed():
    """h @ W.T as the layers compute it, against NumPy and the gradients written out: d a = g W,
    d W = g^T a (through the transposed copy's VJP)."""
    rng = np.random.default_rng(1)
    a_np, w_np, g = rng.standard_normal((4, 2, 3)), rng.standard_normal((5, 3)), rng.standard_normal((4, 2, 5))
    a, w = tl.Tensor(a_np, requires_grad=True), tl.Tensor(w_np, requires_grad=True)
    w_t = tl.ops.transposed_copy(w)
    assert w_t.data.flags.c_contiguous and not np.shares_memory(w_t.data, w.data)
    y = tl.ops.matmul_t(a, w_t, w.detach())
    np.testing.assert_allclose(y.data, a_np @ w_np.T, rtol=1e-13)
    y.backward(g)
    np.testing.assert_allclose(a.grad.data, g @ w_np, rtol=1e-13)
    np.testing.assert_allclose(w.grad.data, np.einsum("tbo,tbi->oi", g, a_np), rtol=1e-13)
    with pytest.raises(ValueError, match=r"transposed_copy: a matrix is needed, got shape \(2, 3, 4\)"):
        tl.ops.transposed_copy(tl.Tensor(np.zeros((2, 3, 4))))
