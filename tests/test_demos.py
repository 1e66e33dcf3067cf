"""Every demo in its --quick mode, checking the claim it makes at that scale (not merely that it ran)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lstm.cli import main
from tinygrad_lstm.demos import DEMOS, adding, charlm, exploding, rtrl, tour, vanishing, variants
from tinygrad_lstm.demos.run import Run
from tinygrad_lstm.demos.tasks import MEAN_BASELINE_MSE, adding_batch
from tinygrad_lstm.viz import find_renderer

from .pictures import underscores_touching


def quick(name, tmp_path):
    return Run(name, out=tmp_path, quick=True, quiet=True)


def test_adding_batch_is_the_adding_problem():
    x, y = adding_batch(500, 20, np.random.default_rng(0))
    assert x.shape == (20, 500, 2) and y.shape == (500, 1)
    assert np.all(x[:, :, 1].sum(axis=0) == 2)  # two markers per sequence
    assert np.all(x[:10, :, 1].sum(axis=0) == 1)  # one in each half
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=0), rtol=1e-6)
    assert abs(np.mean((y - 1.0) ** 2) - MEAN_BASELINE_MSE) < 0.03  # the mean predictor's MSE


def test_rtrl_quick_gives_bptts_gradient_with_memory_independent_of_t(tmp_path):
    r = rtrl.run(quick("rtrl", tmp_path))
    assert r["agree"] < 1e-12  # RTRL's gradient is full BPTT's, to round-off
    assert r["bias"] > 1e-3  # truncation drops the long paths: a different gradient
    np.testing.assert_allclose(r["curves"]["rtrl"], r["curves"]["bptt"], rtol=1e-9)  # the same training run
    assert r["curves"]["rtrl"][-1] < r["curves"]["rtrl"][0]
    bptt, kept = r["memory"]["bptt"], r["memory"]["rtrl"]
    assert bptt[-1] / bptt[0] == pytest.approx(r["lengths"][-1] / r["lengths"][0], rel=0.15)  # like T
    assert len(set(kept)) == 1  # RTRL: the same sensitivities whatever T
    x, y = adding_batch(4, 6, np.random.default_rng(0), dtype=np.float64)
    model = rtrl.make_model(5, 0)
    _, found, _ = rtrl.rtrl_gradients(*model, x, y)
    _, reference, _ = rtrl.bptt_gradients(*model, x, y)
    assert rtrl.relative_difference(found, reference) < 1e-12


def test_vanishing_quick_rnn_ratio_far_below_lstm(tmp_path):
    r = vanishing.run(quick("vanishing", tmp_path))
    ratios = r["ratios"]
    k = max(ratios["tanh RNN"])
    assert ratios["tanh RNN"][k] < 1e-6
    assert ratios["LSTM, forget bias 1"][k] > 1e3 * ratios["tanh RNN"][k]
    if find_renderer() is not None:
        svg = (tmp_path / "vanishing_compare.svg").read_text().replace("&#45;", "-")
        assert "tanh RNN" in svg and "LSTM, forget-gate bias 1" in svg and svg.count("fill and edge colour") == 1


def test_exploding_quick_unclipped_blows_up_clipped_stays_finite(tmp_path):
    r = exploding.run(quick("exploding", tmp_path))
    assert r["growth_at_init"][0.9] < 1e-1 < 1e1 < r["growth_at_init"][1.1]
    assert not r["unclipped_finite"]
    assert r["clipped_finite"] and np.isfinite(r["clipped_last_loss"])


def test_adding_quick_lstm_and_gru_solve_it_the_rnn_does_not(tmp_path):
    r = adding.run(quick("adding", tmp_path))  # T=20, 500 steps
    assert r["lstm_solved_at"] is not None and r["lstm_final_mse"] < 0.01
    assert r["gru_solved_at"] is not None and r["gru_final_mse"] < 0.01
    assert r["rnn_solved_at"] is None and r["rnn_final_mse"] > 0.10
    # the gradient's reach at k = T-1 (issue 31 §1), what T=20 shows: the LSTM's stretches back to the start
    # as it learns (its last row >= 100x its lowest); the RNN's is recorded all along, and it never solves
    lstm, rnn = r["reach"]["lstm"], r["reach"]["rnn"]
    assert lstm[max(lstm)] > 1e-2 and lstm[max(lstm)] > 100 * min(lstm.values())
    assert r["lstm_reach_span"][max(lstm)] == 20 and len(rnn) == 20 and max(rnn) == 475
    assert (tmp_path / "adding_reach_T20.png").is_file() and (tmp_path / "adding_reach_T20.html").is_file()


def test_variants_quick_table_covers_every_variant(tmp_path):
    r = variants.run(quick("variants", tmp_path))
    table = r["table"]
    assert set(table) == {"vanilla", "nig", "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr", "gru"}
    assert all(np.isfinite(row["final_mse"]) for row in table.values())
    # on this short task most cells learn something beyond predicting the mean
    assert sum(row["final_mse"] < MEAN_BASELINE_MSE * 0.8 for row in table.values()) >= 5


def test_charlm_quick_learns_below_uniform_and_samples(tmp_path):
    r = charlm.run(quick("charlm", tmp_path))
    assert r["valid_bpc"] < r["uniform_bpc"] - 1.0
    assert r["valid_bpc"] < r["first_valid_bpc"]
    samples = (tmp_path / "charlm_samples.txt").read_text()
    assert samples.count("The ") >= 2


def test_charlm_reads_a_users_text(tmp_path):
    text_file = tmp_path / "mine.txt"
    text_file.write_text("abcabcabc " * 300)
    assert main(["demo", "charlm", "--quick", "--text", str(text_file), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "charlm_samples.txt").exists()


def test_tour_quick_learns_draws_lists_and_plots(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0  # tour is the default demo
    out = capsys.readouterr().out
    assert "i(%" in out and "h(%" in out and "lstm.l0[t=1]" in out  # one step's tape
    assert "files written" in out
    assert 'class="cluster"' in (tmp_path / "tour_lstm_op.svg").read_text()  # a cluster per time step
    belt = (tmp_path / "tour_lstm_cell.svg").read_text()
    assert "h_n" in belt and "c_n" in belt and "used by" in belt  # the belt, its weights drawn once
    r = tour.run(Run("tour", out=tmp_path / "again", quick=True, quiet=True))
    assert r["final_mse"] < 0.5 * r["start_mse"]
    # the explorer page it prints: the tanh RNN's gradient dies out where the LSTM's survives
    page = tmp_path / "tour_explorer.html"
    assert f"wrote {page}: open it in a browser" in out
    assert "<script>" in page.read_text() and "tanh RNN" in page.read_text()
    survived = r["explorer_survived"]
    assert survived["rnn"] < 1e-2 * survived["lstm"]  # over two decades apart after 23 steps back


@pytest.mark.parametrize("name", DEMOS)
def test_demo_scripts_hand_their_arguments_to_the_one_entry_point(name):
    script = Path(__file__).parent.parent / "demos" / f"{name}.py"
    code = [line for line in script.read_text().split('"""')[-1].splitlines() if line.strip()]
    assert code == ["from tinygrad_lstm.demos import script", "script(__file__)"]


def test_the_entry_point_lists_the_demos_and_each_demo_its_own_options():
    listing = subprocess.run(
        [sys.executable, "-m", "tinygrad_lstm.demos", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert all(f"  {name} " in listing for name in DEMOS)
    root = Path(__file__).parent.parent
    helped = subprocess.run(
        [sys.executable, "demos/adding.py", "--help"], capture_output=True, text=True, check=True, cwd=root
    ).stdout
    assert helped.startswith("usage: python demos/adding.py") and "--length" in helped and "--text" not in helped


def test_each_picture_the_tour_draws_shows_a_contrast_a_learner_can_read(tmp_path):
    r = tour.run(Run("tour", out=tmp_path, quick=True, quiet=True))
    # the gradient norms a picture shows span at least a third of its colour scale
    assert set(r["picture_contrast"]) == {"tour_lstm_op.svg", "tour_lstm_cell.svg"}
    for name, spread in r["picture_contrast"].items():
        assert spread >= 1 / 3, (name, spread)
    belt = (tmp_path / "tour_lstm_cell.svg").read_text()
    for name in ("tour_lstm_op.svg", "tour_lstm_cell.svg", "tour_vanishing_compare.svg"):
        assert underscores_touching((tmp_path / name).read_text()) == [], name  # bold names clear of the next line
    assert "tanh RNN, untrained" in belt and "LSTM before training" in belt and "Adam steps" in belt
