"""Where every box of an op or window view with time steps goes, computed here and pinned.

Time runs left to right as in the belt: each step is a column, the steps of a line side by side and
column under column from one line to the next, so t=1 is right of t=0 and t=2 starts the next line.
What the steps read from outside them (weights, the input projection, the initial states) sits above
them all, each box over the steps it feeds; what reads the steps (the output, the loss) sits below.
Inside a step, boxes go in ranks as the equations run (the pre-activation sum, the gates i, f, g, o in
the order they were cut, the products, c, h), and every step of one program is laid out alike.

Graphviz only draws: ``layout=nop2`` keeps these positions and routes the edges around the boxes, so
the picture is the same with ``dot`` and ``graphviz-pure``, and its width is what this module makes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

GAP_X = 8.0  # between boxes of one rank
GAP_Y = 20.0  # between ranks
MARGIN = 8.0  # a step's box around its contents
TITLE_H = 18.0  # a step's title line
COLUMN_GAP = 14.0  # between two steps of a line
LINE_GAP = 34.0  # between lines (room for the edges that come round from the line above)
BLOCK_GAP = 30.0  # between what the steps read, the steps, and what reads them
BUCKET = 60.0  # wanted centres this close count as a tie, broken by tape order


@dataclass
class Layout:
    """Centres of boxes (points, y growing downwards from the top), boxes drawn around steps, and the size."""

    pos: dict[str, tuple[float, float]] = field(default_factory=dict)
    boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # key -> x0, y0, x1, y1
    width: float = 0.0
    height: float = 0.0
    shift: float = 0.0  # what was added to every x to bring the left edge to 0


def _ranks(ids: list[str], preds: dict[str, list[str]]) -> dict[str, int]:
    """Longest path from the sources, counting only edges among ``ids`` (given in a topological order
    or not: cycles cannot occur in a tape)."""
    members = set(ids)
    rank: dict[str, int] = {}

    def visit(n: str) -> int:
        stack = [n]
        while stack:
            top = stack[-1]
            todo = [p for p in preds.get(top, []) if p in members and p not in rank]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            rank[top] = 1 + max((rank[p] for p in preds.get(top, []) if p in members), default=-1)
        return rank[n]

    for n in ids:
        if n not in rank:
            visit(n)
    return rank


def _pack(row: list[str], width: dict[str, float], want: dict[str, float]) -> dict[str, float]:
    """Centres for the boxes of one rank in this order, each as near its wanted centre as the order and
    the gaps allow: the mean of the tightest placement from the left and the one from the right."""
    if not row:
        return {}
    need = [(width[a] + width[b]) / 2 + GAP_X for a, b in zip(row, row[1:])]
    # least squares under the order: with z = x - (the gaps so far), z must not decrease, which is an
    # isotonic regression (pool adjacent violators); a box without a wanted centre barely pulls
    offset = [0.0]
    for gap in need:
        offset.append(offset[-1] + gap)
    start = next((want[n] - offset[k] for k, n in enumerate(row) if n in want), 0.0)
    blocks: list[tuple[float, float, int]] = []  # (mean, weight, count)
    for k, n in enumerate(row):
        wt = 1.0 if n in want else 1e-6
        blocks.append((want[n] - offset[k] if n in want else start, wt, 1))
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append(((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2))
    z = [m for m, _, c in blocks for _ in range(c)]
    return {n: z[k] + offset[k] for k, n in enumerate(row)}


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _order(row: list[str], want: dict[str, float], rows: Sequence[Sequence[str]], seq: dict[str, int]) -> list[str]:
    """Sort one rank by wanted centre, to the nearest ``BUCKET`` points (ties, and boxes without one,
    in tape order); boxes drawn side by side in a fixed order (the gates) keep it, in the places they got."""
    key = {n: want.get(n, float(k)) for k, n in enumerate(row)}
    out = sorted(row, key=lambda n: (round(key[n] / BUCKET), seq[n]))
    for fixed in rows:
        slots = [k for k, n in enumerate(out) if n in fixed]
        present = [n for n in fixed if n in out]
        for k, n in zip(slots, present):
            out[k] = n
    return out


def layered(
    ids: list[str],
    preds: dict[str, list[str]],
    size: dict[str, tuple[float, float]],
    rows: Sequence[Sequence[str]] = (),
    above: dict[str, float] | None = None,
    below: dict[str, float] | None = None,
    upwards: bool = False,
    gap_y: float = GAP_Y,
    last: AbstractSet[str] = frozenset(),
) -> Layout:
    """A small DAG in ranks. ``above``/``below``: x of boxes outside, already placed, that a box reads
    (``above``) or is read by (``below``); a box goes over (under) the mean of those it touches.
    ``upwards``: rank from the sinks (what feeds the steps ends on the rank just above them)."""
    members = set(ids)
    seq = {n: k for k, n in enumerate(ids)}
    succs: dict[str, list[str]] = {}
    for n, ps in preds.items():
        for p in ps:
            succs.setdefault(p, []).append(n)
    if upwards:  # rank by the longest path to a sink, the deepest on top
        down = _ranks(ids, {n: [s for s in succs.get(n, []) if s in members] for n in ids})
        top = max(down.values(), default=0)
        rank = {n: top - r + (n in last) for n, r in down.items()}
    else:
        rank = _ranks(ids, preds)
    layers: list[list[str]] = [[] for _ in range(1 + max(rank.values(), default=-1))]
    for n in ids:
        layers[rank[n]].append(n)
    x: dict[str, float] = {}

    def wants(n: str, toward: str) -> float | None:
        if toward == "up":
            inside = [x[p] for p in preds.get(n, []) if p in members and p in x]
            outside = [(above or {})[p] for p in preds.get(n, []) if p not in members and p in (above or {})]
        else:
            inside = [x[s] for s in succs.get(n, []) if s in members and s in x]
            outside = [(below or {})[s] for s in succs.get(n, []) if s not in members and s in (below or {})]
        return _mean(inside) if inside else _mean(outside)

    order = list(range(len(layers)))
    passes = [("down", order[::-1]), ("up", order), ("down", order[::-1]), ("up", order)]
    if upwards:
        passes = passes[:3]
    else:
        passes = [("up", order)] + passes[:3]
    for toward, sequence in passes:
        for r in sequence:
            want = {n: w for n in layers[r] if (w := wants(n, toward)) is not None}
            if not want and toward == "down":
                continue
            layers[r] = _order(layers[r], want, rows, seq)
            x.update(_pack(layers[r], {n: size[n][0] for n in layers[r]}, want))
    out = Layout()
    if not ids:
        return out
    lo = min(x[n] - size[n][0] / 2 for n in ids)
    y = 0.0
    for layer in layers:
        h = max((size[n][1] for n in layer), default=0.0)
        for n in layer:
            out.pos[n] = (x[n] - lo, y + h / 2)
        y += h + gap_y
    out.width = max(x[n] + size[n][0] / 2 for n in ids) - lo
    out.height = y - gap_y
    out.shift = -lo
    return out


def arrange(
    lines: list[list[tuple[str, list[str], str | None]]],
    outside: list[str],
    preds: dict[str, list[str]],
    size: dict[str, tuple[float, float]],
    order: dict[str, int],
    rows: list[list[str]],
    groups: dict[str, list[str]] | None = None,
) -> Layout:
    """The whole picture: ``lines`` of units (key, node ids, title id or None), ``outside`` the boxes
    in no step. Returns centres and the boxes around steps, keyed by the unit's key."""
    out = Layout()
    # one layout per step; steps that run one program get the same one
    units: dict[str, Layout] = {}
    for line in lines:
        for key, ids, title in line:
            inner = layered(sorted(ids, key=lambda n: order[n]), preds, size, rows)
            if title is not None:
                w = max(inner.width, size[title][0]) + 2 * MARGIN
                h = inner.height + TITLE_H + 2 * MARGIN + 10
                shifted = {n: (x + MARGIN + (w - 2 * MARGIN - inner.width) / 2, y + MARGIN + TITLE_H + 10)
                           for n, (x, y) in inner.pos.items()}  # fmt: skip
                shifted[title] = (MARGIN + size[title][0] / 2, MARGIN + TITLE_H / 2)
                inner.pos, inner.width, inner.height = shifted, w, h
            units[key] = inner
    columns = max(len(line) for line in lines)
    col_width = [max((units[line[j][0]].width for line in lines if j < len(line)), default=0.0) for j in range(columns)]
    col_x = [sum(col_width[:j]) + COLUMN_GAP * j for j in range(columns)]
    steps_width = col_x[-1] + col_width[-1]
    placed: dict[str, tuple[float, float]] = {}
    top = 0.0
    for line in lines:
        height = max(units[key].height for key, _, _ in line)
        if len(line) == 1 and columns > 1:  # a line of one (the window's "... n steps ..."): centred
            x0 = [(steps_width - units[line[0][0]].width) / 2]
        else:
            x0 = [col_x[j] + (col_width[j] - units[key].width) / 2 for j, (key, _, _) in enumerate(line)]
        for (key, _ids, title), left in zip(line, x0):
            u = units[key]
            for n, (x, y) in u.pos.items():
                placed[n] = (left + x, top + y)
            if title is not None:
                out.boxes[key] = (left, top, left + u.width, top + u.height)
        top += height + LINE_GAP
    steps_height = top - LINE_GAP

    # what the steps read: above them, each box over the steps it feeds
    xs = {n: p[0] for n, p in placed.items()}
    succs: dict[str, list[str]] = {}
    for n, ps in preds.items():
        for p in ps:
            succs.setdefault(p, []).append(n)
    feeding = _reaching(outside, succs, set(placed))
    group = {n: key for key, ids in (groups or {}).items() for n in ids}
    # boxes that feed only the steps get a rank of their own under the groups (scopes drawn as boxes)
    last = {n for n in feeding if n not in group and not any(s in feeding for s in succs.get(n, []))}
    last = last if group else set()
    # a scope in there (the input projection, in chunks) is laid out on its own and placed as one box
    scoped = {key: layered(sorted((n for n in ids if n in feeding), key=lambda n: order[n]), preds, size, rows)
              for key, ids in (groups or {}).items() if any(n in feeding for n in ids)}  # fmt: skip
    box = {key: f"group:{key}" for key in scoped}
    to = {n: box[group[n]] if group.get(n) in box else n for n in feeding}
    # ties (weights share an order) broken by id: a set's own order follows the hash seed
    merged = sorted({to[n] for n in feeding}, key=lambda m: (min(order[n] for n in feeding if to[n] == m), m))
    merged_preds: dict[str, list[str]] = {}
    for n in sorted(feeding, key=lambda n: order[n]):  # a fixed order: a set's follows the hash seed
        for p in preds.get(n, []):
            if p in feeding and to[p] != to[n]:
                merged_preds.setdefault(to[n], []).append(to[p])
        for s_ in succs.get(n, []):
            if s_ not in feeding:
                merged_preds.setdefault(s_, []).append(to[n])
    merged_size = dict(size)
    for key, lay in scoped.items():
        merged_size[box[key]] = (lay.width + 2 * MARGIN, lay.height + 2 * MARGIN + TITLE_H)
    head = layered(merged, merged_preds, merged_size, rows, None, xs, True, 34, last={to[n] for n in last})
    for key, lay in scoped.items():  # the box's contents where the box went
        cx, cy = head.pos.pop(box[key])
        w, h = merged_size[box[key]]
        for n, (x, y) in lay.pos.items():
            head.pos[n] = (cx - w / 2 + MARGIN + x, cy - h / 2 + MARGIN + TITLE_H + y)
    rest = [n for n in outside if n not in feeding]
    tail = layered(sorted(rest, key=lambda n: order[n]), preds, size, rows, xs, None, False, GAP_Y)
    # both were packed around the steps' x, then moved to start at 0: put them back where they were,
    # each rank inside the steps' width where it fits
    for block in (head, tail):
        block.pos = {n: (x - block.shift, y) for n, (x, y) in block.pos.items()}
    _within(tail, size, steps_width)
    head_h = head.height + BLOCK_GAP if feeding else 0.0
    for n, (x, y) in head.pos.items():
        out.pos[n] = (x, y)
    for n, (x, y) in placed.items():
        out.pos[n] = (x, y + head_h)
    out.boxes = {k: (x0, y0 + head_h, x1, y1 + head_h) for k, (x0, y0, x1, y1) in out.boxes.items()}
    tail_top = head_h + steps_height + BLOCK_GAP
    for n, (x, y) in tail.pos.items():
        out.pos[n] = (x, y + tail_top)
    height = tail_top + tail.height if rest else head_h + steps_height
    for key, ids in (groups or {}).items():  # a scope outside the steps (the input projection): a box around it
        ids = [n for n in ids if n in out.pos]
        if ids:
            out.boxes[key] = (
                min(out.pos[n][0] - size[n][0] / 2 for n in ids) - MARGIN,
                min(out.pos[n][1] - size[n][1] / 2 for n in ids) - MARGIN - TITLE_H,
                max(out.pos[n][0] + size[n][0] / 2 for n in ids) + MARGIN,
                max(out.pos[n][1] + size[n][1] / 2 for n in ids) + MARGIN,
            )
    top = min([y - size[n][1] / 2 for n, (_, y) in out.pos.items()] + [b[1] for b in out.boxes.values()])
    out.pos = {n: (x, y - top) for n, (x, y) in out.pos.items()}
    out.boxes = {k: (x0, y0 - top, x1, y1 - top) for k, (x0, y0, x1, y1) in out.boxes.items()}
    height -= top
    # nothing left of 0: shift everything right if the blocks above or below stick out
    lo = min([x - size[n][0] / 2 for n, (x, _) in out.pos.items()] + [b[0] for b in out.boxes.values()])
    hi = max([x + size[n][0] / 2 for n, (x, _) in out.pos.items()] + [b[2] for b in out.boxes.values()])
    out.pos = {n: (x - lo, y) for n, (x, y) in out.pos.items()}
    out.boxes = {k: (x0 - lo, y0, x1 - lo, y1) for k, (x0, y0, x1, y1) in out.boxes.items()}
    out.width, out.height = hi - lo, height
    return out


def _within(block: Layout, size: dict, width: float) -> None:
    """Move each rank of ``block`` sideways so that it lies within 0..width, where it is narrower."""
    ranks: dict[float, list[str]] = {}
    for n, (_, y) in block.pos.items():
        ranks.setdefault(round(y), []).append(n)
    for ids in ranks.values():
        lo = min(block.pos[n][0] - size[n][0] / 2 for n in ids)
        hi = max(block.pos[n][0] + size[n][0] / 2 for n in ids)
        if hi - lo > width:
            dx = (width - hi - lo) / 2  # centred
        else:
            dx = -lo if lo < 0 else width - hi if hi > width else 0.0
        block.pos.update({n: (block.pos[n][0] + dx, block.pos[n][1]) for n in ids})


def _reaching(candidates: list[str], succs: dict[str, list[str]], targets: set[str]) -> set[str]:
    """The candidates from which some target can be reached."""
    found: set[str] = set()
    for n in candidates:
        seen, todo = {n}, [n]
        while todo:
            m = todo.pop()
            if m in targets or m in found and m != n:
                found.add(n)
                break
            for s in succs.get(m, []):
                if s not in seen:
                    seen.add(s)
                    todo.append(s)
    return found
