"""What the picture tests share: a small model traced through backward, and reading rendered SVG
back (node boxes and texts, points along edges)."""

from __future__ import annotations

import re

from tinygrad_lstm.examples import Unrolled, unroll


def traced(cell: str = "lstm", steps: int = 4, **kw) -> Unrolled:
    """``examples.unroll`` of ``cell``, its backward run and traced."""
    u = unroll(cell, steps=steps, **kw)
    u.backward()
    return u


TEXT_ELEMENT = r'<text[^>]*text-anchor="(\w+)" x="([-\d.]+)" y="([-\d.]+)"[^>]*font-size="([\d.]+)"[^>]*>([^<]*)</text>'
NUMBER_PAIR = r"(-?[\d.]+),(-?[\d.]+)"


def _box(pairs: list[tuple[str, str]]) -> tuple[float, float, float, float]:
    xs, ys = [float(p[0]) for p in pairs], [float(p[1]) for p in pairs]
    return min(xs), max(xs), min(ys), max(ys)


def svg_nodes(svg: str) -> list[dict]:
    """Each node group of an SVG: its id, the boxes drawn in it (a table has one per cell; a rounded
    box is a path), and its texts as (x, y, size, text, anchor)."""
    found = []
    for g in re.finditer(r'<g id="([^"]+)" class="node">(.*?)</g>', svg, re.S):
        body = g.group(2)
        shapes = re.findall(r'<polygon[^>]*points="([^"]+)"', body) + re.findall(r'<path[^>]*d="([^"]+)"', body)
        boxes = [_box(re.findall(NUMBER_PAIR, shape)) for shape in shapes]
        texts = [
            (float(x), float(y), float(size), text, anchor)
            for anchor, x, y, size, text in re.findall(TEXT_ELEMENT, body)
        ]
        found.append({"id": g.group(1), "boxes": boxes, "texts": texts})
    return found


def edge_points(svg: str, samples: int = 20) -> list[tuple[float, float]]:
    """Points along every drawn edge: each cubic Bezier piece of its path, sampled."""
    points = []
    for g in re.finditer(r'<g id="[^"]+" class="edge">(.*?)</g>', svg, re.S):
        for d in re.findall(r'<path[^>]*d="([^"]+)"', g.group(1)):
            xy = [(float(x), float(y)) for x, y in re.findall(NUMBER_PAIR, d)]
            for k in range(0, len(xy) - 3, 3):
                p0, p1, p2, p3 = xy[k : k + 4]
                for j in range(samples + 1):
                    t = j / samples
                    a, b, c, e = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
                    points.append(
                        (a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1])
                    )
    return points


# DejaVu Sans (what a bare Linux draws "Helvetica" with), measured from its font files: an underscore
# reaches 0.236 em below the baseline (bold and regular alike), a parenthesis 0.759 em above it
UNDERSCORE_DEPTH = 0.236
PAREN_HEIGHT = 0.759
BOLD_TEXT = TEXT_ELEMENT.replace("[^>]*font-size", '[^>]*font-weight="bold"[^>]*font-size')


def underscores_touching(svg: str, clearance: float = 0.5) -> list:
    """Bold texts with an underscore whose underscore comes within ``clearance`` points of a text or a
    box edge under it (horizontally overlapping): [(bold text, what it touches, gap in points)]."""
    from tinygrad_lstm.viz.text import text_width

    def span(anchor, x, text, size, bold):
        w = text_width(text, size, bold)
        left = x - (w if anchor == "end" else w / 2 if anchor == "middle" else 0)
        return left, left + w

    found = []
    texts = [(a, float(x), float(y), float(s), t) for a, x, y, s, t in re.findall(TEXT_ELEMENT, svg) if t.strip()]
    tops = []  # the top edges of every box: (left, right, y)
    for shape in re.findall(r'<polygon[^>]*points="([^"]+)"', svg) + re.findall(r'<path[^>]*d="([^"]+)"', svg):
        x0, x1, y0, _ = _box(re.findall(NUMBER_PAIR, shape))
        tops.append((x0, x1, y0))
    for anchor, x, y, size, text in re.findall(BOLD_TEXT, svg):
        if "_" not in text:
            continue
        x, y, size = float(x), float(y), float(size)
        left, right = span(anchor, x, text, size, True)
        bottom = y + UNDERSCORE_DEPTH * size  # SVG's y grows downwards
        for a2, x2, y2, s2, t2 in texts:
            if y2 <= y:
                continue
            l2, r2 = span(a2, x2, t2, s2, False)
            gap = (y2 - PAREN_HEIGHT * s2) - bottom
            if l2 < right and r2 > left and gap < clearance:
                found.append((text, t2, round(gap, 2)))
        for l2, r2, top in tops:
            if top > y and l2 < right and r2 > left and top - bottom < clearance:
                found.append((text, "a box's top edge", round(top - bottom, 2)))
    return found
