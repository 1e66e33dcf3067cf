"""How wide text is, so boxes fit their labels whatever font the viewer ends up using.

Layout engines size a box from *their* font metrics; the viewer then draws with whatever font it
has. On a bare Debian "Helvetica" becomes DejaVu Sans, about 12% wider, and labels spill out of
their boxes. So every box here is sized from DejaVu Sans (the widest common sans-serif, and the one
a bare Linux has) and fixed: Helvetica, Arial, Liberation Sans and graphviz-pure's Arimo all fit
inside with room to spare, and the layout is the same with any renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

FONT = "Helvetica"  # asked for; boxes are sized for DejaVu Sans, the usual substitute, which is wider

# advance widths of ASCII 32..126 in thousandths of an em, measured from DejaVuSans.ttf and
# DejaVuSans-Bold.ttf (version 2.37)
_REGULAR = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636,
    636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775,
    752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390,
    337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
_BOLD = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696,
    696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821,
    837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457,
    365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687,
    716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
)  # fmt: skip


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in points of ``text`` at ``size`` points in DejaVu Sans (other characters count as 1 em)."""
    table = _BOLD if bold else _REGULAR
    return size * sum(table[ord(ch) - 32] if 32 <= ord(ch) < 127 else 1000 for ch in text) / 1000


# A layout engine that measures "Helvetica" with Helvetica's metrics (graphviz-pure does) centres a
# line as if it were ~14% narrower than the DejaVu Sans a bare Linux then draws it with: the line
# starts ~7% of its width right of centre. Boxes laid out by such an engine get that much more room.
HELVETICA_DRIFT = 0.08


# A bold title's descenders (an underscore most of all: "weight_ih_l0") reach the capitals of the line
# under it when the renderer spaces lines by their font size (graphviz-pure does): a blank line this
# many points tall goes between a bold line and the next.
BOLD_GAP = 2.0


def _gaps(lines: Sequence[tuple[str, float, bool]]) -> int:
    return sum(1 for (_, _, bold), _ in zip(lines, lines[1:]) if bold)


def box_size(
    lines: Sequence[tuple[str, float, bool]], pad_x: float = 8.0, pad_y: float = 4.0, drift: float = 0.0
) -> tuple[float, float]:
    """(width, height) in points of a box holding ``lines`` of (text, size, bold), with padding, and
    ``drift`` times the widest line more on each side."""
    width = max((text_width(t, s, b) for t, s, b in lines), default=0.0)
    height = sum(1.2 * s for _, s, _ in lines) + 1.2 * BOLD_GAP * _gaps(lines)
    return width * (1 + 2 * drift) + 2 * pad_x, height + 2 * pad_y


def label_html(lines: Sequence[tuple[str, float, bool]]) -> str:
    """An HTML-like Graphviz label of ``lines`` of (text, size, bold), one per line, text escaped."""
    rows = []
    for k, (text, size, bold) in enumerate(lines):
        if k and lines[k - 1][2]:  # under a bold line: a blank one, BOLD_GAP points tall
            rows.append(f'<font point-size="{BOLD_GAP:g}"> </font>')
        rows.append(f'<font point-size="{size}">{"<b>" if bold else ""}{escape(text)}{"</b>" if bold else ""}</font>')
    return "<" + "<br/>".join(rows) + ">"
