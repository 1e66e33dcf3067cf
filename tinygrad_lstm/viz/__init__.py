"""Draw the unrolled graph: time steps as clusters, cells folded or open, edges coloured by gradient.

>>> import numpy as np, tinygrad_lstm as tl
>>> lstm = tl.nn.LSTM(2, 3)
>>> with tl.Tape() as tape:
...     out, (h, c) = lstm(tl.randn(4, 1, 2, dtype=np.float32))
...     loss = (h * h).sum()
>>> with tl.trace_backward() as trace:
...     loss.backward()
>>> picture = tl.viz.draw(tape, view="cell", trace=trace)   # a graphviz.Digraph
>>> # tl.viz.render(picture, "lstm.svg")                  # .svg, .png or .dot
"""

from .belt import BeltModel, build_belt
from .draw import compare, draw
from .errors import ErrorScale, draw_errors
from .explore import HEAT_MAP_LIMIT, Explorer, explore
from .graph import VIEWS, GraphModel, build
from .reach import ReachMap, reach_map
from .render import Picture, RendererNotFound, find_renderer, pipe, render
from .scale import DEFAULT_SCALE, HeatScale, parse_scale

__all__ = [
    "DEFAULT_SCALE",
    "HEAT_MAP_LIMIT",
    "Explorer",
    "explore",
    "VIEWS",
    "BeltModel",
    "build_belt",
    "compare",
    "parse_scale",
    "GraphModel",
    "HeatScale",
    "ErrorScale",
    "draw_errors",
    "ReachMap",
    "reach_map",
    "Picture",
    "RendererNotFound",
    "build",
    "draw",
    "find_renderer",
    "pipe",
    "render",
]
