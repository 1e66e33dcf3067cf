"""The `tinygrad-lstm` command's example: it prints a tape and gradients that check out."""

import re
import subprocess
import sys

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
