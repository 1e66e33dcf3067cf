"""One colour scale for gradient norms, fixed across pictures so the same colour means the same norm.

Norms map by log10 onto a sequential palette, light (small) to dark (large). Every colour on it keeps
at least 3:1 contrast with a white page, so even the faintest gradient stays visible; exact zeros and
NaN/Inf get colours of their own, off the palette.

>>> scale = HeatScale()          # 1e-8 .. 1e0, the default for every picture
>>> scale.colour(1e-3) == HeatScale().colour(1e-3)
True
>>> scale.colour(0.0), scale.colour(float("nan"))
('#ffffff', '#e31a1c')
"""

from __future__ import annotations

import math
from collections.abc import Iterable

DEFAULT_SCALE = (-8, 0)  # log10 of the smallest and largest norm the palette spans
# light to dark: green, teal, blue, purple, near black (relative luminance 0.28 down to 0.01)
ANCHORS = ("#5e9e62", "#21808c", "#3b528b", "#472d7b", "#2d0a3a")
LEGEND_TITLE = "fill and edge colour: ||dL/d value||, log scale (the same in every picture)"
ZERO = "#ffffff"  # a gradient of exactly 0: an empty (white) box with a dashed outline
ZERO_EDGE = "#6e6e6e"  # ... and a dashed grey edge: never white on the white page
NO_GRADIENT = "#9a9a9a"  # an edge no gradient travels (from a constant): thin, solid, grey
DASHED_MEANS = "dashed: the gradient is exactly 0"  # the one thing a dashed line or outline says
NONFINITE = "#e31a1c"  # NaN or Inf: red, a hue the palette never uses


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour."""
    linear = [(c / 255) / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in _rgb(colour)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def parse_scale(text: str) -> tuple[int, int] | str:
    """``"1e-8..1e0"`` or ``"0.001..1"`` (norms) or ``"-8..0"`` (whole exponents) -> (lo, hi) exponents;
    ``"auto"`` stays ``"auto"``. For the CLI's ``--scale``.

    >>> parse_scale("1e-8..1e0"), parse_scale("0.001..1"), parse_scale("-6..0")
    ((-8, 0), (-3, 0), (-6, 0))
    """
    if text == "auto":
        return "auto"
    parts = text.split("..")
    try:
        lo, hi = (float(part) for part in parts)
    except ValueError:
        raise ValueError(f"scale: expected LO..HI such as 1e-8..1e0 (or auto), got {text!r}") from None
    if all(part.strip().lstrip("+-").isdigit() for part in parts):  # two whole numbers: exponents
        return _exponents((lo, hi))
    if lo <= 0 or hi <= 0:
        raise ValueError(f"scale: norms must be positive (or give whole exponents such as -8..0), got {text!r}")
    return _exponents((math.log10(lo), math.log10(hi)))


def _exponents(bounds) -> tuple[int, int]:
    lo, hi = (int(math.floor(b)) for b in bounds)
    if not hi > lo:
        raise ValueError(f"scale: the upper end must be above the lower, got 1e{lo}..1e{hi}")
    return lo, hi


class HeatScale:
    """log10 of a gradient norm -> colour, on ``scale`` = (lowest exponent, highest exponent).

    ``HeatScale()`` spans 1e-8..1e0 in every picture; ``HeatScale("auto", norms)`` fits the decades
    the given norms span (useful for one picture alone, misleading when comparing pictures).
    """

    unit = "|grad|"  # what a box's number is, in the op view's labels

    def __init__(self, scale: tuple[int, int] | str = DEFAULT_SCALE, norms: Iterable[float | None] = ()) -> None:
        if scale == "auto":
            logs = [math.log10(n) for n in norms if n is not None and n > 0 and math.isfinite(n)]
            scale = (math.floor(min(logs)), math.ceil(max(logs))) if logs else DEFAULT_SCALE
            if scale[1] <= scale[0]:
                scale = (scale[0], scale[0] + 1)
        elif isinstance(scale, str):
            scale = parse_scale(scale)
        if not (isinstance(scale, tuple) and len(scale) == 2):
            raise ValueError(f"scale: expected (lo, hi) exponents such as (-8, 0), or 'auto'; got {scale!r}")
        self.lo, self.hi = _exponents(scale)

    def fraction(self, norm: float) -> float:
        """Where ``norm`` sits on the scale, 0 (at or below 1e{lo}) to 1 (at or above 1e{hi})."""
        return min(1.0, max(0.0, (math.log10(norm) - self.lo) / (self.hi - self.lo)))

    def colour(self, norm: float | None) -> str:
        if norm is None or not math.isfinite(norm):
            return NONFINITE
        if norm <= 0:
            return ZERO
        x = self.fraction(norm) * (len(ANCHORS) - 1)
        k = min(int(x), len(ANCHORS) - 2)
        a, b = _rgb(ANCHORS[k]), _rgb(ANCHORS[k + 1])
        return "#" + "".join(f"{round(u + (v - u) * (x - k)):02x}" for u, v in zip(a, b))

    def edge_colour(self, norm: float | None) -> str:
        """An edge's colour: the palette's, or grey for an exact 0 (drawn dashed), never the page's white."""
        if norm is not None and norm == 0:
            return ZERO_EDGE
        return self.colour(norm)

    def text_colour(self, norm: float | None) -> str:
        """Black or white, whichever reads better on ``colour(norm)``."""
        fill = self.colour(norm)
        return "#000000" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "#ffffff"

    def width(self, norm: float | None) -> float:
        """Edge pen width: thicker for larger gradients."""
        if norm is None or norm <= 0 or not math.isfinite(norm):
            return 0.8
        return round(0.8 + 2.7 * self.fraction(norm), 2)

    def decades(self) -> list[int]:
        return list(range(self.lo, self.hi + 1))

    def swatches(self) -> list[tuple[str, float]]:
        """The legend's (label, norm) pairs: every decade, then 0 and NaN/Inf."""
        return [(f"1e{p}", 10.0**p) for p in self.decades()] + [("0", 0.0), ("NaN/Inf", math.nan)]

    def __repr__(self) -> str:
        return f"HeatScale(1e{self.lo}..1e{self.hi})"
