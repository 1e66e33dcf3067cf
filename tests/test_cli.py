"""The `tinygrad-lstm` command's example: it prints a tape and gradients that check out."""

import re
import subprocess
import sys

import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.cli import main


def test_example_prints_tape_and_bptt_gradients(capsys):
    assert main(["example", "--steps", "5", "--hidden-size", "4"]) == 0
    out = capsys.readouterr().out
    # one tanh entry per step, each in its own time-step scope
    assert len(re.findall(r"= tanh\(", out)) == 5
    for t in range(5):
        assert f"rnn[t={t}]" in out
    # BPTT reached every step with a finite, nonzero gradient, and it matches finite differences
    norms = [float(m) for m in re.findall(r"t=\d: ([0-9.e+-]+)", out)]
    assert len(norms) == 5 and all(0 < n < 1e6 for n in norms)
    assert "central differences: passed" in out


def test_console_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "tinygrad_lstm.cli", "example", "--steps", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "h1(%" in proc.stdout


MISTAKES = [
    (["graph", "--steps", "0"], "argument --steps: 0 is too small; it must be at least 1"),
    (["graph", "--hidden-size", "-3"], "argument --hidden-size: -3 is too small"),
    (["graph", "--batch", "0"], "argument --batch: 0 is too small"),
    (["graph", "--input-size", "0"], "argument --input-size: 0 is too small"),
    (["graph", "--steps", "many"], "argument --steps: 'many' is not an integer"),
    (["graph", "-o", "x.pdf"], "-o x.pdf: the extension picks the format; use .svg, .png, .dot or .html"),
    (["graph", "-o", "OUT/plain/x.svg"], "is a file, not a folder"),
    (["graph", "-o", "OUT/plain/x.html"], "is a file, not a folder"),
    (["graph", "--view", "op", "-o", "x.html"], "--view op draws a still picture; the .html explorer shows"),
    (["graph", "--cell", "rnn", "--forget-bias", "1"], "--forget-bias applies to LSTM cells; rnn has no forget gate"),
    (["graph", "--compare", "rnn,gru", "--forget-bias", "1"], "--forget-bias applies to LSTM cells"),
    (["graph", "--compare", "rnn"], "--compare takes two or more of"),
    (["graph", "--scale", "0..-3"], "scale: the upper end must be above the lower"),
    (["graph", "--view", "sideways"], "argument --view: invalid choice: 'sideways'"),
    (["tape", "--cell", "gru", "--forget-bias", "1"], "--forget-bias applies to LSTM cells; gru has no forget gate"),
    # a filter that selects nothing names what there is: the default 2-step LSTM's scopes, t=0..1
    (
        ["tape", "--scope", "t=99"],
        "--scope 't=99': no entry (of 45) matches; the scopes are lstm.l0.x_proj[t=0], lstm.l0[t=0..1]",
    ),
    (
        ["tape", "--steps", "7", "--cell", "gru", "--op", "relu"],
        "the scopes are gru.l0.x_proj[t=0], gru.l0[t=0..6]; the ops are add,",
    ),
    (["demo", "charlm", "--text", "OUT/missing.txt"], "No such file or directory"),
    (["demo", "charlm", "--text", "OUT/plain"], "needs at least two different characters"),
    (["demo", "vanishing", "--length", "5"], "--length applies to the adding demo, not vanishing"),
    (["demo", "tour", "--text", "OUT/plain"], "--text applies to the charlm demo, not tour"),
    (["demo", "adding", "--length", "0"], "argument --length: 0 is too small"),
    (["demo", "nonsense"], "invalid choice: 'nonsense'"),
]


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """main()'s exit code (argparse's own exits included), stdout and stderr."""
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("argv, message", MISTAKES, ids=[" ".join(a) for a, _ in MISTAKES])
def test_a_mistake_gets_one_line_and_exit_code_2(tmp_path, capsys, argv, message):
    (tmp_path / "plain").write_text("a")  # a file where a folder or a text is expected
    argv = [a.replace("OUT", str(tmp_path)) for a in argv]
    code, out, err = run_cli(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("tinygrad-lstm"), err
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.svg")) and not list(tmp_path.glob("*.dot"))


def test_version_help_defaults_and_dot_only_when_asked(tmp_path, capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.strip() == f"tinygrad-lstm {tl.__version__}"
    code, out, _ = run_cli(["graph", "--help"], capsys)
    assert code == 0 and "(default: 4)" in out and "(default: 1e-8..1e0)" in out
    code, out, _ = run_cli(["tape", "--help"], capsys)
    assert "(default: 2)" in out  # each command's own default, not the other's
    assert main(["graph", "-o", str(tmp_path / "g.svg")]) == 0
    assert not (tmp_path / "g.dot").exists()
    assert main(["graph", "--dot", "-o", str(tmp_path / "h.svg")]) == 0
    assert (tmp_path / "h.dot").read_text().startswith("digraph")


def test_tape_memory_prints_the_table_alone_and_graph_says_when_it_folded(tmp_path, capsys):
    assert main(["tape", "--memory", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "saved bytes" in out and "= matmul(" not in out  # no listing
    assert main(["graph", "--view", "op", "--steps", "40", "--budget", "100", "-o", str(tmp_path / "f.svg")]) == 0
    out = capsys.readouterr().out
    assert "note: " in out and "exceed the node budget of 100" in out
