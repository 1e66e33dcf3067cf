"""The pictures tell the truth at their edges: every edge visible on the page, one meaning per line
style (dashed: a gradient of exactly 0, and the legend says so), and every README picture legible at
the README's display width."""

import re
from pathlib import Path

import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.viz.graph import build
from tinygrad_lstm.viz.scale import DASHED_MEANS, contrast

from .pictures import traced

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def svg_groups(svg: str, kind: str) -> list[tuple[str, str]]:
    """(id, body) of every node or edge group of an SVG."""
    return re.findall(rf'<g id="([^"]*)" class="{kind}">(.*?)</g>', svg, re.S)


def page_colour(svg: str) -> str:
    match = re.search(r'<polygon fill="([^"]+)" stroke="transparent"', svg) or re.search(
        r'class="graph">.*?<polygon fill="([^"]+)"', svg, re.S
    )
    return {"white": "#ffffff"}.get(match.group(1), match.group(1)) if match else "#ffffff"


def hexcolour(c: str) -> str:
    return {"white": "#ffffff", "black": "#000000"}.get(c, c)


@pytest.mark.parametrize("view", ["cell", "op", "window", "rolled", "backward"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_every_edge_is_visible_and_dashed_means_a_gradient_of_exactly_0(tmp_path, view, cell, renderer):
    u = traced(cell, steps=6 if view == "window" else 4, hidden_size=3)
    picture = tl.viz.draw(u.tape, view=view, trace=u.trace)
    svg = tl.viz.render(picture, tmp_path / "p.svg").read_text()
    page = page_colour(svg)
    edges = svg_groups(svg, "edge")
    assert edges
    dashed_edges = 0
    for ident, body in edges:
        for stroke in re.findall(r'<path[^>]*stroke="([^"]+)"', body):
            assert stroke != "transparent"
            assert contrast(hexcolour(stroke), page) >= 2.0, (view, ident, stroke)
        dashed_edges += "stroke-dasharray" in body
    dashed_boxes = sum("stroke-dasharray" in body for _, body in svg_groups(svg, "node"))
    if view == "cell":
        model = tl.viz.build_belt(u.tape, u.trace)
        zero_boxes = sum(v.h_norm == 0 for r in model.rows for v in r.steps.values())
        zero_boxes += sum(v.c_norm == 0 for r in model.rows for v in r.steps.values())
        zero_boxes += sum(s == 0 for w in model.weights for s in w.shares.values()) + 1  # + the legend's "0"
        assert dashed_boxes == zero_boxes
    else:
        model = build(u.tape, view if view != "op" else "op", u.trace)
        zero_edges = [e for e in model.edges.values() if e.heat is not None and e.heat <= 0]
        zero_nodes = [n for n in model.nodes.values() if n.heat == 0 and n.kind not in ("ellipsis", "input")]
        if view == "op" and cell == "lstm":
            assert zero_edges, "f at t=0 multiplies c_0 = 0: its gradient is exactly 0"
        assert dashed_edges == len(zero_edges), (view, dashed_edges, len(zero_edges))
        assert dashed_boxes == len(zero_nodes), (view, dashed_boxes, len(zero_nodes))
    assert DASHED_MEANS.replace("dashed: ", "") in svg  # the legend says what dashed means


def test_the_forget_gates_edge_at_t0_is_drawn_grey_and_dashed_not_white(tmp_path, renderer):
    u = traced("lstm", steps=4, hidden_size=3)
    svg = tl.viz.render(tl.viz.draw(u.tape, view="op", trace=u.trace), tmp_path / "p.svg").read_text()
    f0 = next(e for e in u.tape.entries if e.name == "f")
    prod = next(e for e in u.tape.entries if f0 in e.parents)
    from tinygrad_lstm.tape import number

    body = dict(svg_groups(svg, "edge"))[f"e{number(f0)}__e{number(prod)}"]
    assert "stroke-dasharray" in body and 'stroke="#ffffff"' not in body and 'stroke="white"' not in body


@pytest.mark.parametrize("view, steps", [("op", 4)])  # the window view: not yet
def test_the_op_view_lays_time_out_left_to_right_in_lines_not_a_staircase(tmp_path, view, steps, renderer):
    u = traced("lstm", steps=steps, hidden_size=3)
    svg = tl.viz.render(tl.viz.draw(u.tape, view=view, trace=u.trace), tmp_path / "p.svg").read_text()
    where = {}  # t -> (x, y) of its step's title
    for ident, body in svg_groups(svg, "node"):
        m = re.search(r'x="([-\d.]+)" y="([-\d.]+)"[^>]*>lstm\.l0\[t=(\d+)\]<', body)
        if ident.endswith("_title") and m:
            where[int(m.group(3))] = (float(m.group(1)), float(m.group(2)))
    times = sorted(where)
    assert len(times) == 4
    rows = sorted({round(y) for _, y in where.values()})
    assert len(rows) < len(times), "several steps share a line"
    for a, b in zip(times, times[1:]):
        (xa, ya), (xb, yb) = where[a], where[b]
        if round(ya) == round(yb):
            assert xb > xa, (a, b, where)  # left to right within a line
        else:
            assert yb > ya and xb <= xa, (a, b, where)  # the next line starts below, back at the left


def test_the_readmes_tape_listing_is_what_a_fresh_run_prints(capsys):
    from tinygrad_lstm.cli import main

    command = 'tinygrad-lstm tape --cell lstm --steps 2 --scope "t=1"'
    start = README.index(f"`{command}` prints (lines cut here)")
    block = README[README.index("```\n", start) + 4 : README.index("\n```", README.index("```\n", start) + 4)]
    assert main(["tape", "--cell", "lstm", "--steps", "2", "--scope", "t=1"]) == 0
    fresh = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    cut = [line if len(line) <= 120 else line[:117] + "..." for line in fresh]
    assert block.splitlines() == cut  # source lines (recurrent.py:NNN) included


def test_the_line_layout_is_the_same_whatever_the_hash_seed(tmp_path):
    """Positions are computed in Python: no set's order (which follows PYTHONHASHSEED) may decide them."""
    import os
    import subprocess
    import sys

    outputs = []
    for seed in ("1", "2", "3"):
        path = tmp_path / f"op{seed}.dot"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        command = [sys.executable, "-m", "tinygrad_lstm", "graph", "--cell", "lstm", "--steps", "4", "--view", "op"]
        subprocess.run([*command, "--heat", "-o", str(path)], env=env, check=True, capture_output=True)
        outputs.append(path.read_text())
    assert outputs[0] == outputs[1] == outputs[2]
