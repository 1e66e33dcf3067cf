"""The belt (the default recurrent picture), the shared colour scale, and one numbering, rendered for real."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.cli import main
from tinygrad_lstm.examples import unroll
from tinygrad_lstm.tape import number
from tinygrad_lstm.viz.scale import ANCHORS, NONFINITE, ZERO, HeatScale, contrast
from tinygrad_lstm.viz.text import text_width

from .pictures import svg_nodes, traced

needs_renderer = pytest.mark.skipif(tl.viz.find_renderer() is None, reason="no dot or graphviz-pure")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def node_attrs(source: str) -> dict[str, dict[str, str]]:
    """DOT node name -> its attributes (the pictures write one node per statement); an HTML label
    is kept whole, tags and all, so tests can look for text in it."""
    nodes = {}
    for m in re.finditer(r'^\s*("?)([\w.]+)\1 \[(.*)\]$', source, re.M):
        body = m.group(3)
        attrs = {k: v.strip('"') for k, v in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]<]+)', body)}
        html = re.search(r"label=<(.*)>", body)
        if html:
            attrs["label"] = html.group(1)
        nodes[m.group(2)] = attrs
    return nodes


def dot_edges(source: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\w+) -> (\w+)", source, re.M)


# ---- the colour scale ----------------------------------------------------------------------------


def test_palette_is_sequential_and_every_step_has_3_to_1_contrast_on_white():
    scale = HeatScale()
    assert (scale.lo, scale.hi) == (-8, 0)
    colours = [scale.colour(10.0 ** (-8 + 8 * k / 200)) for k in range(201)]
    assert all(contrast(c, "#ffffff") >= 3.0 for c in colours), min(contrast(c, "#ffffff") for c in colours)
    from tinygrad_lstm.viz.scale import luminance

    lum = [luminance(c) for c in colours]
    # light (small) to dark (large), up to rounding to whole colour units
    assert all(a >= b - 1e-3 for a, b in zip(lum, lum[1:])) and lum[0] > 10 * lum[-1]
    assert scale.colour(0.0) == ZERO and scale.colour(float("nan")) == scale.colour(float("inf")) == NONFINITE
    assert NONFINITE not in colours and ZERO not in colours
    assert colours[0] == ANCHORS[0] and colours[-1] == ANCHORS[-1]
    for c in colours[::20]:  # labels on filled boxes stay readable
        assert contrast(c, scale.text_colour(float(10 ** (-8 + 8 * colours.index(c) / 200)))) >= 4.5


def test_scale_parsing_and_auto():
    assert tl.viz.parse_scale("1e-8..1e0") == (-8, 0) and tl.viz.parse_scale("-6..1") == (-6, 1)
    assert tl.viz.parse_scale("auto") == "auto"
    # a norm without an exponent is a norm, not an exponent (0.001..1 once read as exponents 0..1)
    assert tl.viz.parse_scale("0.001..1") == (-3, 0) and tl.viz.parse_scale("1e-8..1") == (-8, 0)
    with pytest.raises(ValueError, match="positive"):
        tl.viz.parse_scale("0.0..1")
    with pytest.raises(ValueError, match="LO..HI"):
        tl.viz.parse_scale("1e-8-1")
    with pytest.raises(ValueError, match="upper end"):
        tl.viz.parse_scale("1e0..1e-8")
    assert (HeatScale("auto", [3e-5, 0.2]).lo, HeatScale("auto", [3e-5, 0.2]).hi) == (-5, 0)


@needs_renderer
def test_rnn_and_lstm_pictures_share_one_scale_and_the_same_norm_gets_the_same_colour(tmp_path):
    runs = {cell: traced(cell, 8) for cell in ("rnn", "lstm")}
    pictures = {cell: tl.viz.draw(u.tape, trace=u.trace) for cell, u in runs.items()}
    legends = {}
    for cell, pic in pictures.items():
        nodes = node_attrs(pic.source)
        legends[cell] = {k: v["fillcolor"] for k, v in nodes.items() if k.startswith("swatch_")}
        assert len(legends[cell]) == 11  # nine decades, 0, NaN/Inf
    assert legends["rnn"] == legends["lstm"]
    # before: each picture fitted its own decades, so one blue meant 2e-6 here and 3e-4 there
    auto = tl.viz.draw(runs["rnn"].tape, trace=runs["rnn"].trace, scale="auto")
    assert {k: v["fillcolor"] for k, v in node_attrs(auto.source).items() if k.startswith("swatch_")} != legends["rnn"]


# ---- the belt ------------------------------------------------------------------------------------


@needs_renderer
def test_belt_colours_c_and_h_separately_with_the_measured_norms(tmp_path):
    u = traced("lstm", 6, hidden_size=4, forget_bias=1.0)
    picture = tl.viz.draw(u.tape, trace=u.trace)  # the default for a recurrent tape: the belt
    nodes = node_attrs(picture.source)
    norms = u.trace.grad_norms()
    scale = HeatScale()
    steps = {}
    for e in u.tape:
        s = tl.tape.time_step(e.scope)
        if s and s[0] == "lstm.l0" and e.name in ("h", "c"):
            steps[(e.name, s[1])] = e
    differ = 0
    for t in range(6):
        h, c = nodes[f"p0_lstm_l0_h{t}"], nodes[f"p0_lstm_l0_c{t}"]
        assert h["fillcolor"] == scale.colour(norms[steps[("h", t)].index])
        assert c["fillcolor"] == scale.colour(norms[steps[("c", t)].index])
        assert h["id"] == f"e{number(steps[('h', t)])}" and c["id"] == f"e{number(steps[('c', t)])}"
        differ += h["fillcolor"] != c["fillcolor"]
    assert differ >= 3
    svg = tl.viz.render(picture, tmp_path / "belt.svg").read_text()
    assert "c_n" in svg and "h_n" in svg and "f=0." in svg  # final states named, forget gate measured
    assert tl.viz.render(picture, tmp_path / "belt.png").read_bytes()[:4] == b"\x89PNG"


def test_belt_edges_carry_the_step_back_factor_and_the_mean_forget_gate():
    u = traced("lstm", 5, hidden_size=4, forget_bias=1.0)
    picture = tl.viz.draw(u.tape, trace=u.trace)
    nodes = node_attrs(picture.source)
    model = tl.viz.build_belt(u.tape, u.trace)
    row = model.rows[0]
    for t in range(1, 5):
        want = row.steps[t - 1].h_norm / row.steps[t].h_norm
        assert nodes[f"p0_lstm_l0_h{t - 1}_{t}_factor"]["label"] == f"{want:.2f}"
        f_entry = row.steps[t].f
        assert nodes[f"p0_lstm_l0_f{t}"]["label"] == f"f={float(np.mean(f_entry_value(u, f_entry))):.2f}"


def f_entry_value(u, f_entry):
    """Recompute the forget gate of a step from the model's weights (independent of the trace)."""
    lstm = u.model
    s = tl.tape.time_step(f_entry.scope)[1]
    xs = np.random.default_rng(0).standard_normal((s + 1, 1, 2)).astype(np.float32)
    H = lstm.hidden_size
    w_ih, w_hh = lstm.weight_ih_l0.data, lstm.weight_hh_l0.data
    b = lstm.bias_ih_l0.data + lstm.bias_hh_l0.data
    h = np.zeros((1, H), np.float32)
    c = np.zeros((1, H), np.float32)
    for t in range(s + 1):
        z = xs[t] @ w_ih.T + h @ w_hh.T + b
        i, f, g, o = (z[:, k * H : (k + 1) * H] for k in range(4))
        i, f, o = (1 / (1 + np.exp(-v)) for v in (i, f, o))
        c = f * c + i * np.tanh(g)
        h = o * np.tanh(c)
    return f


def test_shared_weights_are_drawn_once_without_per_step_edges_and_their_shares_sum_over_time():
    u = traced("lstm", 16, hidden_size=4)
    source = tl.viz.draw(u.tape, trace=u.trace).source
    nodes = node_attrs(source)
    weight_nodes = {k for k in nodes if re.match(r"p0_w\d", k)}
    assert weight_nodes, "the weights are drawn"
    assert not [e for e in dot_edges(source) if e[0] in weight_nodes or e[1] in weight_nodes]
    titles = [v.get("label", "") for k, v in nodes.items() if k.endswith("_title") and k.startswith("p0_w")]
    assert any("weight_hh_l0" in t and "used by 16 steps" in t for t in titles)
    shares = [k for k in nodes if k.startswith("p0_w0_s")]
    assert len(shares) == 16  # one strip cell per step that read W_hh
    # the shares are what each step's matmul sent back to W_hh.T, and their sum is W_hh's gradient
    model = tl.viz.build_belt(u.tape, u.trace)
    w_hh = next(w for w in model.weights if w.title.startswith("weight_hh_l0"))
    assert w_hh.shares[0] == 0.0  # step 0 multiplies the zero initial state
    np.testing.assert_allclose(w_hh.total, np.linalg.norm(u.model.weight_hh_l0.grad.data), rtol=1e-5)
    assert math.sqrt(sum(s * s for s in w_hh.shares.values())) >= w_hh.total * 0.5


def test_layout_cost_stays_flat_in_t_and_long_sequences_fold_into_bins(tmp_path):
    counts = {}
    for steps in (600, 3000):
        u = traced("lstm", steps, hidden_size=2)
        source = tl.viz.draw(u.tape, trace=u.trace).source
        counts[steps] = (len(node_attrs(source)), len(dot_edges(source)))
    assert counts[3000][0] <= 1.1 * counts[600][0] and counts[3000][1] <= 1.1 * counts[600][1], counts
    assert counts[3000][0] < 400
    assert re.search(r'label="\.\.\d+"', source) and "..2999" in source  # bins are labelled by their steps


@needs_renderer
def test_ten_thousand_steps_render_small(tmp_path):
    rnn = tl.nn.LSTM(1, 2)
    x = tl.Tensor(np.random.default_rng(0).standard_normal((10_000, 1, 1)).astype(np.float32))
    with tl.Tape() as tape:
        out, _ = rnn(x)
        loss = (out[-1] * out[-1]).sum()
    with tl.trace_backward() as trace:
        loss.backward()
    path = tl.viz.render(tl.viz.draw(tape, trace=trace), tmp_path / "long.svg")
    assert path.stat().st_size < 1_000_000
    assert "..9999" in path.read_text()


@needs_renderer
@pytest.mark.parametrize("cell, steps, layers", [("lstm", 16, 1), ("rnn", 24, 1), ("gru", 100, 1), ("lstm", 12, 2)])
def test_default_pictures_fit_a_page_and_stay_legible_at_800px(tmp_path, cell, steps, layers):
    layer = {"lstm": tl.nn.LSTM, "rnn": tl.nn.RNN, "gru": tl.nn.GRU}[cell](2, 4, num_layers=layers)
    x = tl.randn(steps, 1, 2, dtype=np.float32)
    with tl.Tape() as tape:
        out, _ = layer(x)
        loss = (out[-1] * out[-1]).mean()
    with tl.trace_backward() as trace:
        loss.backward()
    svg = tl.viz.render(tl.viz.draw(tape, trace=trace, title=f"{cell} x {steps}"), tmp_path / "p.svg").read_text()
    width, height = (float(v) for v in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    assert width <= 3 * height, (width, height)
    smallest = min(float(s) for s, text in re.findall(r'font-size="([\d.]+)"[^>]*>([^<]*)<', svg) if text.strip())
    # shown 800 px wide, a font of s points in a W-point picture is 800 * s / W px tall
    assert 800 * smallest / width >= 10, (smallest, width)


@pytest.mark.parametrize("view", ["cell", "op", "window", "rolled", "backward"])
def test_text_stays_inside_boxes_in_dejavu_sans_the_font_a_bare_debian_draws_with(tmp_path, view, renderer):
    u = traced("lstm", 4, hidden_size=3)
    svg = tl.viz.render(tl.viz.draw(u.tape, view=view, trace=u.trace), tmp_path / f"{view}.svg").read_text()
    tl.viz.render(tl.viz.draw(u.tape, view=view, trace=u.trace), tmp_path / f"{view}.png")
    measure = _measure()
    checked = 0
    for node in svg_nodes(svg):
        for x, y, size, text, anchor in node["texts"]:
            text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&#45;", "-")
            w = measure(text, size)
            lo = x - w / 2 if anchor == "middle" else x if anchor == "start" else x - w
            # the smallest box drawn around the text's baseline (a table cell, or the node's own box)
            around = [b for b in node["boxes"] if b[0] <= x <= b[1] and b[2] <= y <= b[3] + 1]
            if not around:
                continue  # plain text with no box (titles, labels beside edges)
            left, right = min(around, key=lambda b: b[1] - b[0])[:2]
            assert left - 0.5 <= lo and lo + w <= right + 0.5, (view, node["id"], text, lo, lo + w, left, right)
            checked += 1
    assert checked > 10


def _measure():
    """Text width in points: the real DejaVu Sans when the machine has it, else the built-in table."""
    try:
        from PIL import ImageFont

        font = ImageFont.truetype(str(DEJAVU), 1000)
        return lambda text, size: font.getlength(text) * size / 1000
    except (ImportError, OSError):
        return lambda text, size: text_width(text, size)


def test_the_width_table_matches_the_font_file():
    pil = pytest.importorskip("PIL.ImageFont")
    if not DEJAVU.exists():
        pytest.skip(f"{DEJAVU} is not installed")
    font = pil.truetype(str(DEJAVU), 1000)
    for text in ("weight_hh_l0 (8, 32)", "||dL/dW|| = 4.8e-2", "t=9999"):
        assert abs(text_width(text, 12) - font.getlength(text) * 12 / 1000) < 0.5


def test_no_time_steps_is_said_not_silently_drawn():
    x = tl.Tensor(np.ones(3), requires_grad=True)
    with tl.Tape() as tape:
        y = (x.tanh() * 2).sum()
    picture = tl.viz.draw(tape)
    assert "no time-step scopes" in picture.source  # the op view, saying why it is not a belt
    with pytest.raises(ValueError, match=r"tl.scope\(name, t=t\)"):
        tl.viz.draw(tape, view="cell")
    del y


def test_escaped_scope_names_and_names_that_sanitise_alike_stay_apart():
    a = tl.Tensor(np.ones(2), requires_grad=True).named("w.T")
    b = tl.Tensor(np.ones(2), requires_grad=True).named("w_T")
    with tl.Tape() as tape:
        with tl.scope('a<b>&"c"'):
            y = (a * b).sum()
    source = tl.viz.draw(tape, view="op").source
    params = [k for k, v in node_attrs(source).items() if "w.T" in v.get("label", "") or "w_T" in v.get("label", "")]
    assert len(params) == 2
    assert "a&lt;b&gt;&amp;&quot;c&quot;" in source
    if tl.viz.find_renderer() is not None:
        assert b"<svg" in tl.viz.pipe(source)
    del y


def test_rolled_loop_carries_only_the_recurrence():
    u = traced("gru", 6)
    model = tl.viz.build(u.tape, "rolled", u.trace)
    loops = [e for e in model.edges.values() if e.src == e.dst]
    assert [e.label for e in loops] == ["x 5"]  # five hand-overs, and no loop on the input projection
    # its norm is that of the gradients sent from one step to the one before it, nothing else
    edges, steps = u.trace.edge_norms(), {}
    for e in u.tape:
        steps[e.index] = tl.tape.time_step(e.scope)
    across = [
        n
        for (p, c), n in edges.items()
        if steps.get(p) and steps.get(c) and steps[p][0] == steps[c][0] and steps[p] != steps[c]
    ]
    assert loops[0].heat == pytest.approx(math.sqrt(sum(n * n for n in across)))


# ---- one numbering -------------------------------------------------------------------------------


def test_an_entry_has_one_number_in_listing_filtered_tape_tape_of_trace_and_picture():
    u = traced("lstm", 3)
    h2 = next(e for e in u.tape if e.name == "h" and tl.tape.time_step(e.scope) == ("lstm.l0", 2))
    k = number(h2)
    assert u.tape.entries.index(h2) == k  # counted from the tape's start
    ref = f"h(%{k})"
    assert ref in u.tape.listing()
    assert ref in u.tape.filter(scope="t=2").listing()
    assert ref in tl.Tape.of(u.loss).listing()
    assert ref in u.trace.listing() and ref in u.trace.listing(u.tape)
    ident = re.compile(rf'\bid="?e{k}\b')
    assert ident.search(tl.viz.draw(u.tape, view="op", trace=u.trace).source)
    assert ident.search(tl.viz.draw(u.tape, trace=u.trace).source)
    assert ref in tl.viz.draw(u.tape, view="backward", trace=u.trace).source


def test_the_same_program_lists_the_same_numbers_every_run():
    first, second = (unroll("rnn", steps=2).tape.listing() for _ in range(2))
    assert first == second and "(%0) = " in first


# ---- the command line ----------------------------------------------------------------------------


@needs_renderer
def test_cli_compare_draws_both_cells_on_one_scale(tmp_path, capsys):
    out = tmp_path / "cmp.svg"
    args = ["graph", "--compare", "rnn,lstm", "--forget-bias", "1", "--steps", "12", "--hidden-size", "8"]
    assert main([*args, "-o", str(out)]) == 0
    svg = out.read_text().replace("&#45;", "-")
    assert "tanh RNN" in svg and "LSTM, forget-gate bias 1" in svg
    assert svg.count("fill and edge colour") == 1
    for bad in (["--compare", "rnn"], ["--compare", "rnn,nope"], ["--scale", "1e0..1e-3"]):
        assert main(["graph", *bad, "-o", str(tmp_path / "x.svg")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("tinygrad-lstm graph:") and "\n" not in err


def test_compare_shows_the_rnn_gradient_fading_and_the_lstm_cell_path_keeping_it():
    runs = {
        cell: unroll(cell, steps=16, hidden_size=8, forget_bias=1.0 if cell == "lstm" else None)
        for cell in ("rnn", "lstm")
    }
    recordings = [(cell, u.tape, u.backward()) for cell, u in runs.items()]
    nodes = node_attrs(tl.viz.compare(recordings).source)
    rnn, lstm = (tl.viz.build_belt(tape, trace) for _, tape, trace in recordings)
    rnn_kept = rnn.rows[0].steps[0].h_norm / rnn.rows[0].steps[15].h_norm
    lstm_kept = lstm.rows[0].steps[0].c_norm / lstm.rows[0].steps[15].c_norm
    assert lstm_kept > 100 * rnn_kept  # the claim, measured
    # and the picture shows it: the RNN's first step is drawn light (faded), the LSTM's first c dark
    from tinygrad_lstm.viz.scale import luminance

    assert luminance(nodes["p0_rnn_l0_h0"]["fillcolor"]) > 1.5 * luminance(nodes["p1_lstm_l0_c0"]["fillcolor"])
    assert nodes["p0_rnn_l0_h15"]["fillcolor"] == HeatScale().colour(rnn.rows[0].steps[15].h_norm)


def test_each_steps_share_of_the_weight_gradient_matches_pytorch_with_one_weight_copy_per_step():
    """The strip under weight_hh_l0 claims ||dL/dW_hh contributed by step t||: PyTorch, given a
    separate copy of W_hh for every step, measures each copy's gradient; the norms must agree."""
    torch = pytest.importorskip("torch")
    steps, H = 7, 4
    u = traced("lstm", steps, hidden_size=H)
    w_hh = next(w for w in tl.viz.build_belt(u.tape, u.trace).weights if w.title.startswith("weight_hh_l0"))
    lstm = u.model
    p = {name: torch.tensor(getattr(lstm, name).data, dtype=torch.float64) for name in
         ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}  # fmt: skip
    xs = torch.tensor(np.random.default_rng(0).standard_normal((steps, 1, 2)), dtype=torch.float32).double()
    copies = [p["weight_hh_l0"].clone().requires_grad_() for _ in range(steps)]
    h = c = torch.zeros(1, H, dtype=torch.float64)
    for t in range(steps):
        z = xs[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ copies[t].T + p["bias_hh_l0"]
        i, f, g, o = z.split(H, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    (h * h).mean().backward()
    for t in range(steps):
        assert w_hh.shares[t] == pytest.approx(float(copies[t].grad.norm()), rel=1e-4, abs=1e-12), t


def test_every_step_of_every_layer_is_fed_by_an_input_box_even_where_a_chunk_wraps_onto_the_next_line():
    layer = tl.nn.LSTM(2, 4, num_layers=2)  # 14 steps: 7 per line, so the chunk t=0..7 wraps
    with tl.Tape() as tape:
        out, _ = layer(tl.randn(14, 1, 2, dtype=np.float32))
        loss = (out[-1] * out[-1]).mean()
    with tl.trace_backward() as trace:
        loss.backward()
    edges = dot_edges(tl.viz.draw(tape, trace=trace).source)
    for k in (0, 1):
        fed = {dst for src, dst in edges if src.startswith(f"p0_lstm_l{k}_in") and "_h" in dst}
        assert fed == {f"p0_lstm_l{k}_h{j}" for j in range(14)}, k


SHAPES = [
    ("lstm", 3, {"weight_hh_l0": "(12, 3)", "weight_ih_l0": "(12, 2)"}),
    ("gru", 5, {"weight_hh_l0": "(15, 5)", "weight_ih_l0": "(15, 2)"}),
    ("rnn", 4, {"weight_hh_l0": "(4, 4)", "weight_ih_l0": "(4, 2)"}),
]


@pytest.mark.parametrize("cell, hidden, names", SHAPES)
def test_each_weight_is_labelled_with_the_parameters_own_shape_not_its_transposes(cell, hidden, names):
    u = traced(cell, 4, hidden_size=hidden)
    params = dict(u.model.named_parameters())
    source = tl.viz.draw(u.tape, trace=u.trace).source
    titles = [v.get("label", "") for k, v in node_attrs(source).items() if re.match(r"p0_w\d+_title", k)]
    for name, shape in names.items():
        assert shape == str(tuple(params[name].shape)).replace(",)", ")")
        assert any(f"{name} {shape}:" in t for t in titles), (name, titles)
