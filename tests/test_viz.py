"""The renderer, for real: SVG and PNG through the bundled graphviz-pure binary (or the system dot)."""

import re

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.cli import main
from tinygrad_lstm.examples import unroll

needs_renderer = pytest.mark.skipif(tl.viz.find_renderer() is None, reason="no dot or graphviz-pure")


def traced(cell="lstm", steps=4, **kw):
    u = unroll(cell, steps=steps, **kw)
    u.backward()
    return u


def edges(dot_source: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\w+) -> (\w+)", dot_source, re.M)


def svg_texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


@needs_renderer
def test_op_view_svg_has_one_cluster_per_step_named_gates_and_gradient_colours(tmp_path):
    u = traced("lstm", steps=4)
    path = tl.viz.render(tl.viz.draw(u.tape, view="op", trace=u.trace), tmp_path / "lstm.svg")
    svg = path.read_text()
    assert svg.count('class="cluster"') == 5  # one per step, one for the input projection
    texts = svg_texts(svg)
    for name in ["i", "f", "g", "o", "c", "h", "weight_hh_l0", "weight_ih_l0", "loss"]:
        assert name in texts, name
    for t in range(4):
        assert f"lstm.l0[t={t}]" in texts
    assert "lstm.l0.x_proj[t=0]" in texts
    joined = " ".join(texts)
    assert "||dL/d value||, log scale" in joined and "||dL/dh_t||" in texts and "||dL/dc_t||" in texts
    assert (tmp_path / "lstm.dot").exists()


@needs_renderer
def test_png_render(tmp_path):
    u = traced("gru", steps=3)
    path = tl.viz.render(tl.viz.draw(u.tape, view="cell", trace=u.trace), tmp_path / "gru.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


@needs_renderer
def test_heat_shows_tanh_rnn_vanishing_and_lstm_keeping_gradient(tmp_path):
    steps = 12
    colours = {}
    ratio = {}
    for cell in ("rnn", "lstm"):
        u = traced(cell, steps=steps, hidden_size=8, forget_bias=1.0 if cell == "lstm" else None)
        picture = tl.viz.draw(u.tape, view="cell", trace=u.trace)
        svg = tl.viz.render(picture, tmp_path / f"{cell}.svg").read_text()
        kind = "c" if cell == "lstm" else "h"  # the LSTM's gradient travels along c
        first, last = (
            re.search(rf"p0_{cell}_l0_{kind}{t} \[.*?fillcolor=\"(#[0-9a-f]+)\"", picture.source)
            for t in (0, steps - 1)
        )
        colours[cell] = first.group(1), last.group(1)
        assert colours[cell][0] != colours[cell][1], "early and late steps get different colours"
        assert colours[cell][0] in svg and colours[cell][1] in svg
        row = tl.viz.build_belt(u.tape, u.trace).rows[0]
        norm = (lambda v: v.c_norm) if cell == "lstm" else (lambda v: v.h_norm)
        ratio[cell] = norm(row.steps[0]) / norm(row.steps[steps - 1])
    # the picture's claim: the tanh RNN's gradient vanishes; the LSTM's cell path (forget bias 1) keeps it
    assert ratio["rnn"] < 1e-3
    assert ratio["lstm"] > 30 * ratio["rnn"]


@needs_renderer
@pytest.mark.parametrize(
    "view, marker",
    [
        ("op", "tanh"),
        ("cell", "rnn.l0 h"),
        ("rolled", "x 5"),
        ("window", "... 2 steps ..."),
        ("backward", "#0 mul.vjp"),
    ],
)
def test_every_view_renders(tmp_path, view, marker):
    u = traced("rnn", steps=6)
    picture = tl.viz.draw(u.tape, view=view, trace=u.trace, window=2)
    svg = tl.viz.render(picture, tmp_path / f"{view}.svg").read_text()
    assert any(marker in text for text in svg_texts(svg)), marker


def test_backward_view_numbers_the_sweep_and_shows_saved_arrays():
    u = traced("lstm", steps=2)
    picture = tl.viz.draw(u.tape, view="backward", trace=u.trace)
    orders = [int(m) for m in re.findall(r"<b>#(\d+) ", picture.source)]
    assert sorted(orders) == list(range(len(orders)))  # every VJP run, numbered in sweep order
    assert "reads out (1, 3)" in picture.source and " B</font>" in picture.source
    with pytest.raises(ValueError, match="needs trace"):
        tl.viz.draw(u.tape, view="backward")


def test_dot_is_deterministic_and_structure_matches_snapshot():
    def picture():
        u = unroll("rnn", steps=2, hidden_size=2)
        u.loss.backward()
        return tl.viz.draw(u.tape, view="op")

    first, second = picture().source, picture().source
    assert first == second
    # inputs from outside the tape are p0.. in order of first use (weight_hh_l0, weight_ih_l0, the
    # biases); both biases join once (n2) and are added to the input product (n3) in n4; x_proj (n5) feeds a
    # getitem in each step (n6, n10); h0 (n9) feeds step 1's matmul (n11), which also reads the
    # transposed weight_hh_l0 (n0)
    assert edges(first) == [
        ("p0", "n0"), ("p1", "n1"), ("p2", "n2"), ("p3", "n2"), ("n1", "n3"),
        ("n3", "n4"), ("n2", "n4"), ("n4", "n5"), ("n5", "n6"), ("n0", "n7"), ("n6", "n8"), ("n7", "n8"),
        ("n8", "n9"), ("n5", "n10"), ("n9", "n11"), ("n0", "n11"), ("n10", "n12"), ("n11", "n12"), ("n12", "n13"),
        ("n9", "n14"), ("n13", "n14"), ("n13", "n15"), ("n14", "n16"), ("n16", "n17"), ("n17", "n18"),
        ("n18", "n19"),
    ]  # fmt: skip
    assert first.count("subgraph cluster_") == 3  # the input projection and the two steps


@needs_renderer
def test_node_budget_folds_a_10000_step_graph_and_says_so(tmp_path):
    rnn = tl.nn.RNN(1, 2)
    with tl.Tape() as tape:
        out, h = rnn(tl.zeros(10_000, 1, 1, dtype=np.float32))
    picture = tl.viz.draw(tape, view="op", budget=200)
    body = [line for line in picture.source.splitlines() if re.match(r"\s*\w+ \[label=", line)]
    assert len(body) <= 200
    assert "exceed the node budget of 200" in picture.source
    svg = tl.viz.render(picture, tmp_path / "long.svg").read_text()
    assert "9996 steps" in " ".join(svg_texts(svg))


def test_missing_renderer_says_how_to_fix_and_keeps_the_dot(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_LSTM_DOT", str(tmp_path / "no-such-dot"))
    u = traced("rnn", steps=2)
    with pytest.raises(tl.viz.RendererNotFound, match="pip install graphviz-pure") as err:
        tl.viz.render(tl.viz.draw(u.tape), tmp_path / "g.svg")
    assert "g.dot" in str(err.value)
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert not (tmp_path / "g.svg").exists()


@needs_renderer
def test_jupyter_display_uses_the_available_renderer():
    u = traced("rnn", steps=2)
    bundle = tl.viz.draw(u.tape)._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")


@needs_renderer
def test_cli_graph_writes_a_readable_svg(tmp_path, capsys):
    out = tmp_path / "lstm.svg"
    assert main(["graph", "--cell", "lstm", "--steps", "4", "--view", "op", "--heat", "-o", str(out)]) == 0
    svg = out.read_text()
    assert svg.count('class="cluster"') == 5
    assert {"i", "f", "g", "o"} <= set(svg_texts(svg))
    assert "wrote" in capsys.readouterr().out
    for view in ("cell", "rolled", "window", "backward"):
        assert (
            main(["graph", "--cell", "cifg", "--steps", "5", "--view", view, "-o", str(tmp_path / f"{view}.png")]) == 0
        )
