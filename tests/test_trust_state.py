"""State and files (a failed load changes nothing, saved files get ordinary modes, bad files get one
clear error) and layer arguments that get an error naming the argument."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import tinygrad_lstm as tl


# ---- load_state_dict checks everything, then writes -----------------------------------------------------
def test_a_failed_load_state_dict_changes_no_parameter():
    lin = tl.nn.Linear(3, 2, dtype=np.float64)
    before = lin.state_dict()
    lin.bias.data.flags.writeable = False  # the second key cannot be written
    new = {k: v + 1 for k, v in before.items()}
    with pytest.raises(ValueError, match="nothing was changed: bias: the parameter.s array is read-only"):
        lin.load_state_dict(new)
    for k, v in lin.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# ---- tl.save keeps ordinary file modes --------------------------------------------------------------------
def test_save_gives_a_new_file_the_umask_mode_and_keeps_an_existing_files_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "w.npz"
        tl.save({"w": np.eye(2)}, path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644  # as open(path, "wb") would give
        os.chmod(path, 0o640)
        tl.save({"w": np.zeros(2)}, path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
        np.testing.assert_array_equal(tl.load(path)["w"], np.zeros(2))
        assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]  # no temporary file left behind
    finally:
        os.umask(old)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "the file is empty"),
        (b"hello, world", "not NumPy data"),
        ("truncated", "BadZipFile"),
        ("npy", "single .npy array"),
        ("bad structure", "damaged or was not written by tl.save"),
    ],
)
def test_load_of_a_damaged_or_foreign_file_raises_one_error_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "model.npz"
    if content == "truncated":
        tl.save({"w": np.arange(100.0)}, path)
        path.write_bytes(path.read_bytes()[:300])
    elif content == "npy":
        with open(path, "wb") as f:
            np.save(f, np.ones(3))
    elif content == "bad structure":
        np.savez(path, __structure__=np.frombuffer(b'{"array": "a0"}', dtype=np.uint8))
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=f"load: {path}.*{problem}"):
        tl.load(path)
    with pytest.raises(FileNotFoundError):
        tl.load(tmp_path / "missing.npz")


# ---- layer arguments -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [tl.nn.RNN, tl.nn.LSTM, tl.nn.GRU, tl.nn.RNNCell, tl.nn.LSTMCell, tl.nn.GRUCell])
@pytest.mark.parametrize("hidden_size", [0, -3, 2.5])
def test_a_hidden_size_below_one_is_named(layer, hidden_size):
    # as PyTorch: a layer needs hidden_size >= 1, a cell >= 0 (a cell of size 0 is allowed)
    least = 0 if "Cell" in layer.__name__ else 1
    if hidden_size == 2.5:
        with pytest.raises(TypeError, match=f"{layer.__name__}: hidden_size must be an integer, got 2.5"):
            layer(3, hidden_size)
    elif hidden_size < least:
        with pytest.raises(ValueError, match=f"{layer.__name__}: hidden_size must be an integer >= {least}"):
            layer(3, hidden_size)
    else:
        assert layer(3, hidden_size).hidden_size == 0


@pytest.mark.parametrize("layer", [tl.nn.RNN, tl.nn.LSTM, tl.nn.GRU])
def test_recurrent_layer_arguments_are_checked(layer):
    name = layer.__name__
    with pytest.raises(ValueError, match=f"{name}: num_layers must be an integer >= 1"):
        layer(3, 4, num_layers=0)
    net = layer(3, 4)
    with pytest.raises(ValueError, match=f"{name}: the input of shape \\(0, 2, 3\\) has no time steps"):
        net(tl.zeros(0, 2, 3, dtype=np.float32))
    with pytest.raises(ValueError, match=f"{name}: lengths must be 2 integers .* got float64"):
        net(tl.zeros(5, 2, 3, dtype=np.float32), lengths=np.array([5.0, 3.0]))
    with pytest.raises(TypeError, match=f"{name}: input dtype float64 differs from the layer's parameters"):
        net(tl.zeros(5, 2, 3, dtype=np.float64))
    out = net(tl.zeros(5, 2, 3, dtype=np.float32))[0]
    assert out.dtype == np.float32


@pytest.mark.parametrize("cell", [tl.nn.RNNCell, tl.nn.LSTMCell, tl.nn.GRUCell])
def test_cells_and_linear_refuse_a_dtype_mismatch(cell):
    with pytest.raises(TypeError, match=f"{cell.__name__}: input dtype float64"):
        cell(3, 4)(tl.zeros(2, 3, dtype=np.float64))
    with pytest.raises(TypeError, match="Linear: input dtype float64"):
        tl.nn.Linear(3, 4)(tl.zeros(2, 3, dtype=np.float64))


def test_a_misspelled_keyword_is_named_with_a_guess():
    with pytest.raises(TypeError, match="unexpected keyword argument 'batchfirst' \\(did you mean 'batch_first'\\?\\)"):
        tl.nn.LSTM(3, 4, batchfirst=True)
    with pytest.raises(TypeError, match="'peephole_x'"):
        tl.nn.LSTMCell(3, 4, peephole_x=True)
