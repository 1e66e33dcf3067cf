"""The gradient's reach over training (issue 31 §1): tl.record_reach, tl.viz.reach_map, in a browser
and in a notebook that redraws it in place while training runs."""

import re

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.demos.tasks import train_adding
from tinygrad_lstm.viz.scale import HeatScale


def train(layer, steps, reach=None, length=6, seed=0):
    """A few SGD steps of ``layer`` and a linear head on random sequences, the loss at the last step."""
    rng = np.random.default_rng(seed)
    head = tl.nn.Linear(layer.hidden_size, 1)
    opt = tl.optim.SGD([*layer.parameters(), *head.parameters()], lr=0.1)
    for _ in range(steps):
        x = tl.tensor(rng.standard_normal((length, 2, 2)).astype(np.float32))
        out, _ = layer(x)
        loss = (head(out[-1]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with tl.no_grad():  # an evaluation pass: not a training step
            layer(x)


def test_record_reach_keeps_a_row_every_k_training_steps_equal_to_the_probes_ratios():
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(2, 4)
    with tl.record_reach(lstm, every=3) as reach:
        train(lstm, 7)
    assert reach.steps == [0, 3, 6] and reach.forwards == 7  # no_grad passes are not counted
    r = reach.ratios()
    assert r.shape == (3, 6) and np.all(r[:, 0] == 1.0) and np.all((r > 0) & (r < 10))
    # the same numbers as tl.probe_gradients measures for that step, k steps back
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(2, 4)
    train(lstm, 6)
    rng = np.random.default_rng(0)
    for _ in range(6):  # the seventh step's input
        rng.standard_normal((6, 2, 2))
    x = tl.tensor(rng.standard_normal((6, 2, 2)).astype(np.float32))
    head = tl.nn.Linear(4, 1)  # another head: only ratios at one step of the same layer are compared
    with tl.probe_gradients("h") as probe, tl.record_reach(lstm) as again:
        out, _ = lstm(x)
        (head(out[-1]) ** 2).mean().backward()
    ratios = probe.ratios("h")
    np.testing.assert_allclose(again.row(0), [ratios[k] for k in range(6)], rtol=1e-6)
    assert "step     0" in again.summary() and again.span(0, floor=0.0) == 6


def test_a_compiled_loop_records_the_steps_it_runs_eagerly_inside_measure():
    reach = tl.record_reach(every=4)
    r = train_adding("lstm", length=5, steps=9, batch=4, hidden_size=3, eval_every=100, reach=reach)
    assert reach.steps == [0, 4, 8] and reach.ratios().shape == (3, 5)
    assert reach.scope == "lstm.l0" and r["curve"][-1][0] == 9


def test_the_map_draws_every_cell_on_the_pictures_one_scale_and_saves_svg_html_png(tmp_path):
    tl.manual_seed(0)
    rnn, lstm = tl.nn.RNN(2, 4), tl.nn.LSTM(2, 4)
    with tl.record_reach(rnn, every=2) as a:
        train(rnn, 5)
    with tl.record_reach(lstm, every=1) as b:
        train(lstm, 3)
    picture = tl.viz.reach_map([("tanh RNN", a), ("LSTM", b)])
    assert picture.steps() == [0, 1, 2, 4]
    svg = picture.svg()
    cells = re.findall(r'<rect class="cell" [^>]*fill="(#[0-9a-f]{6})"><title>([^<]*)</title>', svg)
    assert len(cells) == (3 + 3) * 6  # RNN at 0, 2, 4; LSTM at 0, 1, 2; T=6 each
    scale = HeatScale()
    fill, title = cells[1]
    value = float(title.rsplit(": ", 1)[1])
    assert title.startswith("tanh RNN, training step 0, k=1") and fill == scale.colour(value)
    assert "recorded up to step 2" in svg and "1e-8" in svg and "1e0" in svg
    for name in ("reach.svg", "reach.html", "reach.png"):
        assert (tmp_path / name).stat().st_size > 0 if picture.save(tmp_path / name) else False
    assert (tmp_path / "reach.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="svg, .html or .png"):
        picture.save(tmp_path / "reach.pdf")


def test_the_html_export_shows_the_map_in_a_browser_with_a_tooltip_per_cell(browser, tmp_path):
    from tests.test_explorer import console_errors, open_page

    tl.manual_seed(0)
    rnn = tl.nn.RNN(2, 4)
    with tl.record_reach(rnn, every=2) as reach:
        train(rnn, 4)
    page = tmp_path / "reach.html"
    reach.picture("tanh RNN").save(page)
    open_page(browser, page)
    cells = browser.find_elements("css selector", "svg.reach-map rect.cell")
    assert len(cells) == 2 * 6
    assert cells[0].get_attribute("fill") == HeatScale().colour(1.0)  # k = 0: the last step against itself
    assert cells[0].find_element("tag name", "title").get_attribute("textContent").endswith("1.00e+00")
    box = browser.execute_script("return document.querySelector('svg.reach-map').getBoundingClientRect().width")
    assert 300 < box < 1366
    assert console_errors(browser) == []


def test_in_a_notebook_the_map_updates_in_place_while_training_runs():
    from tests.test_notebook import data_of, run_notebook

    outputs = run_notebook(
        "import numpy as np\ntl.manual_seed(0)\nlstm = tl.nn.LSTM(2, 3)\nhead = tl.nn.Linear(3, 1)\n"
        "reach = tl.record_reach(lstm, every=2)\nshown = reach.show('LSTM')\n"
        "with reach:\n"
        "    for step in range(6):\n"
        "        out, _ = lstm(tl.randn(5, 2, 2))\n"
        "        (head(out[-1]) ** 2).mean().backward()\n"
        "print(reach.steps, shown.handle is not None)",
    )
    (cell,) = outputs
    shown = data_of(cell, "text/html")
    assert len(shown) == 1  # one display, redrawn in place: not one output per update
    # shown before the first step (no rows then): every row in it now came by an in-place update
    assert shown[0].count('class="cell"') == 3 * 5
    assert "[0, 2, 4] True" in "".join(o.get("text", "") for o in cell)
