"""A learner's first hour (issue 28): one default dtype, help for every public function, error messages
that point at the user's line, and the pieces a notebook or a shell pipe meets first."""

import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.examples import unroll

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def default_dtype():
    """Let a test change the default dtype; it is float32 again afterwards, whatever happens."""
    yield
    tl.set_default_dtype(np.float32)


# ---- 1. one default dtype ------------------------------------------------------------------------


def test_a_pytorch_users_first_models_run_in_one_dtype():
    assert tl.get_default_dtype() == np.float32  # PyTorch's default
    out, h_n = tl.nn.RNN(4, 16)(tl.randn(30, 1, 4))
    assert out.dtype == h_n.dtype == np.float32 and out.shape == (30, 1, 16)
    assert tl.nn.Linear(2, 2)(tl.randn(3, 2)).dtype == np.float32
    out, (h, c) = tl.nn.LSTM(3, 5, batch_first=True)(tl.rand(2, 7, 3))
    assert out.dtype == c.dtype == np.float32
    assert tl.nn.GRU(3, 5)(tl.zeros(7, 2, 3))[0].dtype == np.float32
    assert tl.nn.LSTMCell(3, 5)(tl.ones(2, 3))[0].dtype == np.float32
    assert tl.nn.GRUCell(3, 5)(tl.tensor([[1.0, 2.0, 3.0]])).dtype == np.float32
    assert tl.nn.RNNCell(3, 5)(tl.Tensor([0.5, 0.5, 0.5])).dtype == np.float32
    emb = tl.nn.Embedding(10, 3)
    assert tl.nn.Linear(3, 1)(emb(np.array([1, 2]))).dtype == np.float32


CREATIONS = {
    "tensor(list)": lambda: tl.tensor([[1.0, 2.0]]),
    "tensor(float)": lambda: tl.tensor(0.5),
    "Tensor(list)": lambda: tl.Tensor([1.0, 2.0]),
    "Tensor(float)": lambda: tl.Tensor(2.0),
    "as_tensor": lambda: tl.as_tensor([1.0]),
    "randn": lambda: tl.randn(2, 3),
    "rand": lambda: tl.rand(2),
    "zeros": lambda: tl.zeros((2, 3)),
    "ones": lambda: tl.ones(2, 3, requires_grad=True),
    "full": lambda: tl.full((2,), 0.5),
    "eye": lambda: tl.eye(3),
    "linspace": lambda: tl.linspace(0, 1, 5),
    "arange(floats)": lambda: tl.arange(0, 1, 0.25),
    "Linear": lambda: tl.nn.Linear(2, 3).weight,
    "Embedding": lambda: tl.nn.Embedding(4, 3).weight,
    "RNN": lambda: tl.nn.RNN(2, 3).weight_hh_l0,
    "LSTM": lambda: tl.nn.LSTM(2, 3, proj_size=2).weight_hr_l0,
    "GRU": lambda: tl.nn.GRU(2, 3).bias_ih_l0,
    "LSTMCell": lambda: tl.nn.LSTMCell(2, 3, variant="peephole").peephole_f,
    "GRUCell": lambda: tl.nn.GRUCell(2, 3).weight_ih,
    "RNNCell": lambda: tl.nn.RNNCell(2, 3).weight_ih,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("name", list(CREATIONS))
def test_creation_functions_and_layers_follow_the_one_default(default_dtype, name, dtype):
    tl.set_default_dtype(dtype)
    assert tl.get_default_dtype() == dtype
    assert CREATIONS[name]().dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_whole_training_step_and_the_optimizers_state_follow_the_default(default_dtype, dtype):
    tl.set_default_dtype(dtype)
    tl.manual_seed(0)
    lstm, head = tl.nn.LSTM(3, 4), tl.nn.Linear(4, 1)
    params = [*lstm.parameters(), *head.parameters()]
    for opt in (
        tl.optim.Adam(params, lr=1e-2, amsgrad=True),
        tl.optim.SGD(params, lr=0.1, momentum=0.9),
        tl.optim.RMSprop(params, lr=0.1, momentum=0.9, centered=True),
        tl.optim.AdamW(params),
        tl.optim.Adagrad(params, lr=0.1, initial_accumulator_value=0.1),
        tl.optim.Adadelta(params),
        tl.optim.Adamax(params),
        tl.optim.NAdam(params),
        tl.optim.RAdam(params),
    ):
        out, _ = lstm(tl.randn(5, 2, 3))
        loss = tl.nn.functional.mse_loss(head(out[-1]), tl.zeros(2, 1))
        assert loss.dtype == dtype
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert all(p.dtype == dtype and p.grad.dtype == dtype for p in params)
        arrays = [v for state in opt.state.values() for v in state.values() if isinstance(v, np.ndarray)]
        assert arrays and all(a.dtype == dtype for a in arrays), type(opt).__name__


def test_numpy_arrays_and_integers_keep_their_dtype(default_dtype):
    for default in (np.float32, np.float64):
        tl.set_default_dtype(default)
        assert tl.tensor(np.zeros(2)).dtype == np.float64
        assert tl.Tensor(np.zeros(2, np.float32)).dtype == np.float32
        assert tl.tensor(np.float64(1.5)).dtype == np.float64  # a NumPy scalar (a subclass of float)
        assert tl.from_numpy(np.zeros(2, np.float16)).dtype == np.float16
        assert tl.tensor([1, 2]).dtype == np.int64 and tl.arange(3).dtype == np.int64
        assert tl.full((2,), 3).dtype == np.int64
        assert tl.tensor([True]).dtype == np.bool_
        assert tl.randn(2, dtype=np.float16).dtype == np.float16  # an explicit dtype= wins
        assert tl.nn.Linear(2, 2, dtype=np.float16).weight.dtype == np.float16
    torch = pytest.importorskip("torch")
    assert tl.tensor(torch.zeros(2, dtype=torch.float64)).dtype == np.float64  # PyTorch's arrays too


def test_float32_and_float64_draws_from_one_seed_hold_the_same_numbers(default_dtype):
    tl.manual_seed(3)
    single = tl.randn(4, 5)
    tl.set_default_dtype(np.float64)
    tl.manual_seed(3)
    double = tl.randn(4, 5)
    assert single.dtype == np.float32 and double.dtype == np.float64
    np.testing.assert_array_equal(single.data, double.data.astype(np.float32))


def test_a_mismatch_made_on_purpose_keeps_its_clear_error():
    with pytest.raises(TypeError, match=r"Linear: input dtype float32 differs from the layer's parameters \(float64\)"):
        tl.nn.Linear(2, 2, dtype=np.float64)(tl.randn(3, 2))
    with pytest.raises(TypeError, match=r"RNN: input dtype float64 differs from the layer's parameters \(float32\)"):
        tl.nn.RNN(4, 16)(tl.Tensor(np.random.randn(30, 1, 4)))  # an explicit float64 array
    with pytest.raises(TypeError, match=r"LSTMCell: h has dtype float64, the input float32"):
        tl.nn.LSTMCell(2, 3)(tl.zeros(1, 2), (tl.zeros(1, 3, dtype=np.float64), tl.zeros(1, 3)))


def test_set_default_dtype_takes_float_dtypes_only_and_says_so(default_dtype):
    for name in ("float64", tl.float64, np.float64, np.dtype("float64")):
        tl.set_default_dtype(name)
        assert tl.get_default_dtype() == np.float64
    for bad, says in ((np.int64, "only floating point dtypes"), ("int32", "only floating point"), (3.5, "not a dtype")):
        with pytest.raises(TypeError, match=says) as e:
            tl.set_default_dtype(bad)
        assert "\n" not in str(e.value)
    assert tl.get_default_dtype() == np.float64  # a refused call changes nothing


def test_layers_made_before_a_change_keep_their_dtype(default_dtype):
    lin = tl.nn.Linear(2, 2)
    tl.set_default_dtype(np.float64)
    assert lin.weight.dtype == np.float32 and tl.nn.Linear(2, 2).weight.dtype == np.float64
    assert lin(tl.randn(1, 2).float()).dtype == np.float32


# ---- 1. help ---------------------------------------------------------------------------------------


def _public_functions():
    for prefix, module in (
        ("tl", tl),
        ("tl.nn.functional", tl.nn.functional),
        ("tl.nn.init", tl.nn.init),
        ("tl.nn.utils", tl.nn.utils),
        ("tl.viz", tl.viz),
    ):
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or (inspect.isclass(obj) and obj.__module__.startswith("tinygrad_lstm")):
                yield f"{prefix}.{name}", obj
    for cls in (tl.nn.Module, tl.optim.Optimizer, tl.nn.ModuleList, tl.nn.ModuleDict):
        for name, member in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(member):
                yield f"{cls.__name__}.{name}", member


@pytest.mark.parametrize("name, obj", list(_public_functions()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_function_has_help(name, obj):
    doc = inspect.getdoc(obj)
    assert doc and len(doc.splitlines()[0]) > 10, f"help({name}) says nothing"


def test_help_for_the_first_functions_a_learner_calls_shows_an_example():
    for f in (tl.tanh, tl.zeros, tl.randn, tl.tensor, tl.exp, tl.sigmoid, tl.softmax, tl.set_default_dtype):
        assert ">>>" in inspect.getdoc(f), f.__name__


# ---- 4. messages that point at the user's line -----------------------------------------------------


def _next_line() -> int:
    return inspect.currentframe().f_back.f_lineno + 1


def test_an_in_place_refusal_inside_detect_anomaly_names_the_users_line():
    x = tl.ones(3, requires_grad=True)
    with tl.detect_anomaly():
        y = x * 2
        line = _next_line()
        z = (y * y).sum()
    with tl.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError) as e:
        z.backward()
    message = str(e.value)
    assert message.startswith("backward: mul (%")
    assert message.endswith(
        f"\n  made by test_first_hour.py:{line} in "
        "test_an_in_place_refusal_inside_detect_anomaly_names_the_users_line: z = (y * y).sum()"
    )
    assert "called from" not in message  # the line is the user's own already


def test_an_op_inside_a_layer_names_the_layers_line_and_the_users_call():
    lstm = tl.nn.LSTM(2, 3)
    opt = tl.optim.SGD(lstm.parameters(), lr=0.1)
    with tl.detect_anomaly():
        line = _next_line()
        out, _ = lstm(tl.randn(4, 1, 2))
        loss = out.sum()
    loss.backward(retain_graph=True)
    opt.step()  # changes the weights the tape saved
    with pytest.raises(RuntimeError) as e:
        loss.backward()
    lines = str(e.value).splitlines()
    # (the steps' products keep weight_hh itself, detached, for their VJPs: still named by its leaf)
    assert "matmul_t" in lines[0] and "input 2 (weight_hh_l0, shape (12, 3))" in lines[0]
    assert "scope lstm.l0[t=" in lines[0]
    assert lines[1].startswith("  made by cells.py:") and "# h @ weight_hh.T" in lines[1]
    assert lines[2] == (
        f"  called from test_first_hour.py:{line} in "
        "test_an_op_inside_a_layer_names_the_layers_line_and_the_users_call: out, _ = lstm(tl.randn(4, 1, 2))"
    )


def test_tape_sources_name_the_line_too_and_a_nan_inside_a_layer_names_the_call():
    x = tl.ones(2, requires_grad=True)
    with tl.Tape(sources=True):
        line = _next_line()
        y = x.exp()
    with tl.no_grad():
        y.mul_(3)
    with pytest.raises(RuntimeError, match=rf"made by test_first_hour.py:{line} in .*: y = x.exp\(\)$"):
        y.sum().backward()

    cell = tl.nn.LSTMCell(2, 3)
    with tl.no_grad():
        cell.weight_ih[...] = 1e30  # times an input of 1e30 overflows float32 in the cell's product
    with pytest.raises(tl.AnomalyError) as e:
        with tl.detect_anomaly():
            line = _next_line()
            cell(tl.full((1, 2), 1e30))
    assert str(e.value).splitlines()[-2].startswith("  made by cells.py:")
    assert str(e.value).splitlines()[-1] == (
        f"  called from test_first_hour.py:{line} in "
        "test_tape_sources_name_the_line_too_and_a_nan_inside_a_layer_names_the_call: cell(tl.full((1, 2), 1e30))"
    )


def test_outside_anomaly_mode_the_refusal_says_how_to_see_the_line():
    x = tl.ones(3, requires_grad=True)
    y = x * 2
    z = (y * y).sum()
    with tl.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError) as e:
        z.backward()
    assert "made by" not in str(e.value)
    assert str(e.value).endswith(
        "(run the forward pass under tl.detect_anomaly() to see the line of your code that made this op)"
    )


def test_memory_table_after_backward_shows_what_was_saved_and_says_it_was_freed():
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(8, 8)
    with tl.Tape() as tape:
        out, _ = lstm(tl.randn(3, 2, 8))
        loss = out.sum()
    before = tl.memory_table(tape)
    rows_before = tl.memory_by_step(tape)
    loss.backward()
    assert tape[-1].freed and all(e.saved_nbytes == 0 for e in tape)  # what the table read before
    after = tl.memory_table(tape)
    assert after.splitlines()[:-1] == before.splitlines()  # the same bytes as before backward
    assert [m.nbytes for m in tl.memory_by_step(tape)] == [m.nbytes for m in rows_before]
    assert sum(m.nbytes for m in rows_before) > 0
    assert "freed" not in before and "backward() has since freed the arrays" in after.splitlines()[-1]
    assert sum(m.freed for m in tl.memory_by_step(tape)) == sum(e.freed for e in tape)
    # a filtered tape and the graph behind a tensor (Tape.of) see the same
    step1 = tape.filter(scope="t=1")
    assert tl.memory_by_step(step1)[0].nbytes == [m for m in rows_before if m.t == 1 and m.layer == "lstm.l0"][0].nbytes


def test_memory_table_says_so_when_backward_freed_the_arrays_before_the_tape_saw_them():
    lstm = tl.nn.LSTM(8, 8)
    with tl.Tape() as tape:
        out, _ = lstm(tl.randn(3, 2, 8))
        out.sum().backward()  # inside the block: the tape never saw the arrays
    table = tl.memory_table(tape)
    rows = tl.memory_by_step(tape)
    assert all(m.nbytes == 0 for m in rows) and sum(m.unseen for m in rows) > 0
    assert table.splitlines()[-1].startswith(f"(the arrays of {sum(m.unseen for m in rows)} entries were freed")
    assert "retain_graph=True" in table
    with tl.Tape() as tape:  # retain_graph keeps them: no note
        out, _ = lstm(tl.randn(3, 2, 8))
        out.sum().backward(retain_graph=True)
    assert tl.memory_table(tape).splitlines()[-1].startswith("lstm.l0 ")


# ---- 5. pictures, and the shell ---------------------------------------------------------------------


def test_pictures_render_pipe_and_view_with_the_renderer_the_package_finds(renderer, tmp_path, monkeypatch):
    import graphviz

    u = unroll("lstm", steps=2)
    u.loss.backward()
    picture = tl.viz.draw(u.tape)
    assert isinstance(picture, graphviz.Digraph) and picture.format == "svg"
    made = picture.render(str(tmp_path / "g"), format="png")
    assert Path(made) == tmp_path / "g.png" and (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "g").read_text() == picture.source  # graphviz's own behaviour: the DOT file beside
    assert picture.pipe()[:5] == b"<?xml" and b"</svg>" in picture.pipe()
    assert picture.pipe(format="png")[:4] == b"\x89PNG"
    assert picture.pipe(encoding="utf-8").startswith("<?xml")
    viewed = []
    monkeypatch.setattr(type(picture), "_view", lambda self, path, format, quiet: viewed.append((path, format)))
    picture.view(str(tmp_path / "v"))
    assert viewed == [(str(tmp_path / "v.svg"), "svg")] and (tmp_path / "v.svg").read_text().startswith("<?xml")
    if shutil.which("dot") is None:  # what a plain graphviz.Digraph does here: it looks for dot alone
        with pytest.raises(graphviz.ExecutableNotFound):
            graphviz.Digraph(body=["a -> b"]).pipe(format="svg")


def test_without_any_renderer_a_picture_says_how_to_get_one(tmp_path, monkeypatch):
    u = unroll("rnn", steps=2)
    picture = tl.viz.draw(u.tape)
    monkeypatch.setenv("TINYGRAD_LSTM_DOT", str(tmp_path / "no-such-dot"))
    with pytest.raises(tl.viz.RendererNotFound, match="pip install graphviz-pure"):
        picture.pipe()
    with pytest.raises(tl.viz.RendererNotFound, match="pip install graphviz-pure"):
        picture.render(str(tmp_path / "g"))


def _cli(*args, check=True):
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_lstm", *args],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr.decode()
    return done


def test_python_dash_m_tinygrad_lstm_is_the_command():
    assert _cli("--version").stdout.decode().strip() == f"tinygrad-lstm {tl.__version__}"
    assert _cli("tape", "--steps", "1").stdout.decode().startswith("# tape of a lstm over 1 steps")
    wrong = _cli("tape", "--steps", "0", check=False)
    assert wrong.returncode == 2 and wrong.stderr.decode().count("\n") == 1 and b"Traceback" not in wrong.stderr


@pytest.mark.parametrize(
    "command", [["-m", "tinygrad_lstm", "tape", "--trace"], ["-m", "tinygrad_lstm.demos", "vanishing", "--quick"]]
)
def test_a_reader_that_stops_early_ends_the_output_quietly(command, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    extra = ["--steps", "80"] if "tape" in command else ["--out", str(tmp_path)]
    process = subprocess.Popen(
        [sys.executable, *command, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env
    )
    first = process.stdout.readline()  # then go away, as `| head -1` does
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141  # what `yes | head` reports: stopped by the closed pipe
    assert first and "Traceback" not in errors and "BrokenPipeError" not in errors, errors


def test_graph_dash_o_dash_writes_the_picture_to_standard_output():
    svg = _cli("graph", "-o", "-", "--steps", "2")
    assert svg.stdout.startswith(b"<?xml") and svg.stdout.rstrip().endswith(b"</svg>")
    assert svg.stderr.decode().startswith("wrote standard output (")  # the report stays out of the data
    png = _cli("graph", "-o", "-", "--format", "png", "--steps", "2", "--heat")
    assert png.stdout[:8] == b"\x89PNG\r\n\x1a\n"
    assert _cli("graph", "--output", "-", "--format", "dot").stdout.startswith(b"digraph tinygrad_lstm {")
    page = _cli("graph", "-o", "-", "--format", "html", "--steps", "2").stdout
    assert page.startswith(b"<!DOCTYPE html>") and b'id="explorer-data"' in page
    for args, says in (
        (["-o", "x.svg", "--format", "png"], "--format applies to -o - (standard output)"),
        (["-o", "-", "--dot"], "with -o - use --format dot"),
        (["-o", "-", "--format", "pdf"], "invalid choice: 'pdf'"),
    ):
        wrong = _cli("graph", *args, check=False)
        assert wrong.returncode == 2 and wrong.stdout == b"", args
        assert wrong.stderr.decode().count("\n") == 1 and says in wrong.stderr.decode(), wrong.stderr
