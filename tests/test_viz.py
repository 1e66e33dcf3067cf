"""The renderer, for real: SVG and PNG through the bundled graphviz-pure binary (or the system dot)."""

import html
import re

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.cli import main
from tinygrad_lstm.examples import unroll
from tinygrad_lstm.tape import number, time_step
from tinygrad_lstm.viz.graph import build
from tinygrad_lstm.viz.text import text_width

from .pictures import edge_points, svg_nodes, traced, underscores_touching

needs_renderer = pytest.mark.skipif(tl.viz.find_renderer() is None, reason="no dot or graphviz-pure")


def edges(dot_source: str) -> list[tuple[str, str]]:
    """The drawn edges, in order (not the invisible ones that only hold the layout)."""
    found = re.findall(r"^\s*(\w+) -> (\w+)(.*)$", dot_source, re.M)
    return [(src, dst) for src, dst, attrs in found if "style=invis" not in attrs]


def svg_texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


@needs_renderer
def test_op_view_svg_has_one_cluster_per_step_named_gates_and_gradient_colours(tmp_path):
    u = traced("lstm", steps=4)
    path = tl.viz.render(tl.viz.draw(u.tape, view="op", trace=u.trace), tmp_path / "lstm.svg", keep_dot=True)
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
    assert (tmp_path / "lstm.dot").exists()  # asked for; not written otherwise
    tl.viz.render(tl.viz.draw(u.tape, view="op"), tmp_path / "plain.svg")
    assert not (tmp_path / "plain.dot").exists()


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
    # getitem in each step (n6, n10); step 0's matmul (n7) reads the initial state h_0, named after the
    # h (%9) that step 1's matmul (n11) reads at the same place, and the transposed weight_hh_l0 (n0)
    assert edges(first) == [
        ("p0", "n0"), ("p1", "n1"), ("p2", "n2"), ("p3", "n2"), ("n1", "n3"), ("n3", "n4"), ("n2", "n4"),
        ("n4", "n5"), ("n5", "n6"), ("i_rnn_l0_9", "n7"), ("n0", "n7"), ("n6", "n8"), ("n7", "n8"),
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


# ---- the op view reads like the equations ----------------------------------------------------------


def step_entries(tape, name):
    """{t: entry} for the entries called ``name`` in each time step of the (single) layer."""
    return {time_step(e.scope)[1]: e for e in tape.entries if e.name == name and time_step(e.scope)}


@pytest.mark.parametrize("view, steps", [("op", 4), ("window", 8)])
def test_gates_are_drawn_in_the_same_order_i_f_g_o_in_every_step(tmp_path, view, steps, renderer):
    u = traced("lstm", steps=steps)
    svg = tl.viz.render(tl.viz.draw(u.tape, view=view, trace=u.trace), tmp_path / "op.svg").read_text()
    centre = {n["id"]: (n["boxes"][0][0] + n["boxes"][0][1]) / 2 for n in svg_nodes(svg) if n["boxes"]}
    gates = {name: step_entries(u.tape, name) for name in "ifgo"}
    drawn = [t for t in gates["i"] if f"e{number(gates['i'][t])}" in centre]
    assert len(drawn) == (steps if view == "op" else 4)  # the window view keeps two steps at each end
    for t in drawn:
        xs = [centre[f"e{number(gates[name][t])}"] for name in "ifgo"]
        assert xs == sorted(xs), (t, dict(zip("ifgo", xs)))


def test_products_and_returned_states_carry_the_names_of_the_equations():
    u = traced("lstm", steps=3)
    listing = str(u.tape)
    for name in ("f*c[t-1]", "i*g", "tanh(c)", "output", "h_n", "c_n"):
        assert re.search(rf"^\s*{re.escape(name)}\(%\d+\) = ", listing, re.M), name
    assert "output[-1]" in tl.viz.draw(u.tape, view="op").source  # a slice of a named value says which
    gru = str(traced("gru", steps=2).tape)
    assert "r*hn(%" in gru and "z*(h[t-1]-n)(%" in gru and "c_n" not in gru
    peephole = str(traced("peephole", steps=2).tape)
    assert "p_i*c[t-1](%" in peephole and "p_o*c(%" in peephole


def test_slices_fold_into_the_gate_they_feed_and_say_which_columns():
    u = traced("lstm", steps=3, hidden_size=3)
    model = build(u.tape, "op", u.trace)
    titles = {n.title for n in model.nodes.values()}
    assert "getitem" not in titles  # every slice is either folded into a gate or named (x_proj[t])
    assert {"x_proj[0]", "x_proj[1]", "x_proj[2]"} <= titles
    for gate in step_entries(u.tape, "f").values():
        node = model.nodes[f"n{u.tape.entries.index(gate)}"]
        assert node.detail == "sigmoid([:, 3:6]) (1, 3)"
        # the gate hangs off the pre-activation sum it was cut from, and carries the gate's own gradient
        pre = gate.parents[0].parents[0]
        assert (f"n{u.tape.entries.index(pre)}", node.id) in model.edges
        assert node.heat == u.trace.grad_norms()[gate.index]


def test_the_picture_of_a_tape_is_the_same_before_and_after_backward():
    u = unroll("lstm", steps=3)
    before = tl.viz.draw(u.tape, view="op").source
    u.loss.backward()
    assert tl.viz.draw(u.tape, view="op").source == before  # freeing saved arrays keeps what labels print


def test_initial_states_are_drawn_where_step_0_reads_them():
    u = traced("lstm", steps=3)
    model = build(u.tape, "op", u.trace)
    starts = {n.title: n for n in model.nodes.values() if n.detail.startswith("initial state")}
    assert set(starts) == {"h_0", "c_0"}
    first = {e.name or e.op: e for e in u.tape.entries if time_step(e.scope) == ("lstm.l0", 0)}
    assert (starts["h_0"].id, f"n{u.tape.entries.index(first['matmul_t'])}") in model.edges
    assert (starts["c_0"].id, f"n{u.tape.entries.index(first['f*c[t-1]'])}") in model.edges
    assert all(
        model.edges[(n.id, dst)].heat is None for n in starts.values() for src, dst in model.edges if src == n.id
    )

    # initial states the user passes (and wants gradients for) are drawn as the leaves they are
    lstm = tl.nn.LSTM(2, 3)
    h0 = tl.zeros(1, 1, 3, dtype=np.float32, requires_grad=True).named("h0_given")
    c0 = tl.zeros(1, 1, 3, dtype=np.float32, requires_grad=True).named("c0_given")
    with tl.Tape() as tape:
        out, _ = lstm(tl.randn(3, 1, 2, dtype=np.float32), (h0, c0))
    titles = {n.title for n in build(tape, "op").nodes.values()}
    assert {"h0_given", "c0_given"} <= titles and not {"h_0", "c_0"} & titles


@pytest.mark.parametrize("cell, view", [("lstm", "op"), ("gru", "op"), ("lstm", "window"), ("rnn", "backward")])
def test_no_edge_crosses_a_step_title(tmp_path, cell, view, renderer):
    u = traced(cell, steps=6 if view == "window" else 3)
    svg = tl.viz.render(tl.viz.draw(u.tape, view=view, trace=u.trace), tmp_path / "g.svg").read_text()
    points = edge_points(svg)
    titles = [n for n in svg_nodes(svg) if n["id"].endswith("_title")]
    assert len(titles) >= 3
    for node in titles:
        x, y, size, text, anchor = node["texts"][0]
        w = text_width(text, size)
        left = x - w / 2 if anchor == "middle" else x if anchor == "start" else x - w
        inside = [(px, py) for px, py in points if left <= px <= left + w and y - size <= py <= y + 2]
        assert not inside, (text, inside[:3])


def test_a_slice_by_index_array_of_a_named_value_is_labelled_after_backward():
    x = tl.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True).named("x")
    with tl.Tape() as tape:
        loss = (x[:, np.array([0, 2])] * 2).sum()
    loss.backward()  # frees the index array
    titles = {n.title for n in build(tape, "op").nodes.values()}
    assert "x[...]" in titles


# ---- the README's pictures read at the README's width ----------------------------------------------

README_WIDTH = 830  # px: what a README page gives a picture


def readme_pictures() -> list[str]:
    """The `tinygrad-lstm graph ... -o docs/NAME.svg` commands the README documents its pictures with."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    return sorted(set(re.findall(r"`tinygrad-lstm (graph [^`]*-o docs/\w+\.svg)`", readme)))


@pytest.mark.parametrize("command", readme_pictures())
def test_each_readme_picture_is_legible_at_830_px_and_runs_time_left_to_right(tmp_path, monkeypatch, command):
    import sys
    from pathlib import Path

    pure = Path(sys.executable).parent / "graphviz-pure"
    if not pure.is_file():
        pytest.skip("the bundled graphviz-pure is not installed")
    monkeypatch.setenv("TINYGRAD_LSTM_DOT", str(pure))
    out = tmp_path / "picture.svg"
    argv = command.split()[1:]
    argv[argv.index("-o") + 1] = str(out)
    assert main(["graph", *argv]) == 0
    svg = out.read_text()
    assert underscores_touching(svg) == [], command  # "weight_ih_l0" in bold clear of the line under it
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    smallest = min(float(s) for s, text in re.findall(r'font-size="([\d.]+)"[^>]*>([^<]*)<', svg) if text.strip())
    # shown 830 px wide, a font of s points in a W-point picture is 830 * s / W px tall
    assert README_WIDTH * smallest / width >= 9, (command, smallest, width)

    if "--view backward" in command:
        return  # the sweep runs back in time, numbered in the order the VJPs ran
    # steps left to right in time order, line under line (the window's "... n steps ..." between)
    shown = []
    for node in svg_nodes(svg):
        for x, y, _size, text, _anchor in node["texts"]:
            step = re.fullmatch(r"[\w.]+\[t=(\d+)\]", text)
            if step and node["id"].endswith("_title"):
                shown.append((y, x, int(step.group(1))))
            elif re.fullmatch(r"\.\.\. (\d+) steps \.\.\.", text):
                shown.append((y, x, None))
    if not shown:
        return  # a belt or a rolled cell: no step boxes
    lines: list[list] = []
    for y, x, t in sorted(shown):
        if lines and y - lines[-1][0][0] < 30:  # titles of one line share their baseline
            lines[-1].append((y, x, t))
        else:
            lines.append([(y, x, t)])
    reading = [t for line in lines for _, _, t in sorted(line, key=lambda s: s[1])]
    times = [t for t in reading if t is not None]
    assert times == sorted(times) and len(set(times)) == len(times), (command, reading)
    if None in reading:  # the elided stretch stands between the first and the last steps
        k = reading.index(None)
        assert max(times[:k]) < min(t for t in reading[k + 1 :]), reading


@needs_renderer
@pytest.mark.parametrize("cell, steps", [("gru", 8), ("rnn", 3), ("lstm", 12)])
def test_the_rolled_loops_label_keeps_clear_of_its_arrowhead(tmp_path, cell, steps):
    u = traced(cell, steps=steps)
    svg = tl.viz.render(tl.viz.draw(u.tape, view="rolled", trace=u.trace), tmp_path / "rolled.svg").read_text()
    loops = [g for g in re.findall(r'<g id="[^"]*" class="edge">.*?</g>', svg, re.S) if f"x {steps - 1}<" in g]
    assert len(loops) == 1
    head = [
        (float(x), float(y))
        for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", re.search(r'<polygon[^>]*points="([^"]+)"', loops[0]).group(1))
    ]
    anchor, x, y, size, text = re.search(
        r'text-anchor="(\w+)" x="([-\d.]+)" y="([-\d.]+)"[^>]*font-size="([\d.]+)"[^>]*>([^<]*)<', loops[0]
    ).groups()
    x, y, size, text = float(x), float(y), float(size), html.unescape(text).replace("\xa0", " ")
    # the glyphs drawn (DejaVu Sans), leading spaces left out: their box from the anchor and the widths
    whole = text_width(text, size)
    left = x - (whole / 2 if anchor == "middle" else whole if anchor == "end" else 0)
    left += text_width(text[: len(text) - len(text.lstrip())], size)
    right, top, bottom = left + text_width(text.strip(), size), y - 0.76 * size, y + 0.24 * size
    near = [
        (hx, hy) for hx, hy in head if top - 1 < hy < bottom + 1 and left - 1.5 < hx < right + 1.5
    ]  # an arrowhead corner within 1.5 pt of the text's box
    assert near == [], (text, left, right, head)
