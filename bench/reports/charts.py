"""Self-contained SVG charts as strings: no plotting library, no script, no URL.

The report embeds these charts inline in one HTML file that must work offline, and
the teaching demos reuse them. Every chart is one `<svg>` element with a title,
axes with "nice" tick labels (steps of 1, 2 or 5 x 10^k, or 1-2-5 marks per decade
on a log scale) carrying their unit, light grid lines, a legend naming every series,
a marker on every measured point (with a tooltip giving its values) and distinct
colours (Okabe-Ito, safe for colour-blind readers), dash patterns and marker shapes
per series, so a chart stays readable in grey print.

API
---
line_chart(series, *, title, x_label, y_label, x_unit="", y_unit="", log_x=False,
           log_y=False, ceiling=None, invalid=(), warned=(), spread=None,
           y_from_zero=True, styles=None, width=640, standalone=True) -> str
    series:   {name: [(x, y), ...]}; drawn in insertion order, points sorted by x.
    log_x / log_y: True, False or "auto" (log when every value is positive and the
              largest is at least 20 times the smallest, i.e. the data span decades).
              A log axis with a value <= 0 falls back to linear.
    ceiling:  {name: [(x, y), ...]} drawn as dashed lines without markers; a name
              that is also a series takes that series' colour ("<name> ceiling" in
              the legend), any other name is drawn in grey under its own name.
    invalid:  (series, x) pairs drawn as a hollow red marker ("invalid point").
    warned:   (series, x) pairs circled by a dotted amber ring ("point with warnings").
    spread:   {name: [(x, low, high), ...]}: a vertical min-max whisker per point.
    x_unit / y_unit: appended to every tick label ("200 ms", "50%").
    styles:   {name: index} pins a series' colour/dash/marker, so one name looks the
              same across several charts (default: its position in `series`).
    standalone: False leaves out the xmlns attribute, which SVG inline in HTML5 does
              not need (it keeps an offline HTML page free of any URL).

bar_chart(bars, *, title, value_label, unit="", ceiling=None, ceiling_label="ceiling",
          invalid=(), warned=(), spread=None, width=640, standalone=True) -> str
    Horizontal bars for a comparison at one load level (a line through one point is
    unreadable): bars = {category: {measure: value or None}}; one group of bars per
    category (labelled on the axis), one colour per measure (in the legend). The
    value axis starts at zero. `ceiling` is a dashed vertical line; `invalid` and
    `warned` name categories whose bars get a red or amber outline and a marker
    after their value; spread = {(category, measure): (low, high)} draws whiskers.

format_number(value) -> str   compact tick text: 0.05, 250, 2.5k, 1.2M
format_value(value) -> str    a measured value: 4,144 / 391 / 53.3 / 0.97
linear_axis(values, from_zero=False) / log_axis(values) -> Axis   the tick logic alone
wants_log(values, scale) -> bool                                 the "auto" decision
Style.at(index) -> Style      the colour, dash and marker of the index-th series

Example (a standalone file any browser opens):

    svg = line_chart({"asgi": [(10, 26), (100, 260)], "wsgi sync": [(10, 7.9), (100, 7.9)]},
                     title="complete", x_label="concurrent users", y_label="req/s",
                     x_unit="users", y_unit="req/s", log_x="auto")
    Path("chart.svg").write_text(svg)
"""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Scale = bool | Literal["auto"]
XY = tuple[float, float]

# Okabe-Ito, the colour-blind-safe palette; yellow is too pale on white.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#7F7F7F")
DASHES = ("", "8 4", "3 3", "10 3 2 3", "2 5", "12 6", "6 2 2 2 2 2", "14 3")
SHAPES = ("circle", "square", "triangle", "diamond", "down", "pentagon")
INVALID_COLOR = "#D00000"
WARNED_COLOR = "#B8860B"
CEILING_DASH = "7 5"
AUTO_LOG_RATIO = 20.0
SVG_NS = "http://www.w3.org/2000/svg"

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
_CHAR_W = 6.6  # average glyph width at 12 px, for layout without font metrics
_PLOT_H = 240
_TITLE_H = 34
_LEGEND_ROW = 18


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _n(value: float) -> str:
    """Coordinates with one decimal: enough for a screen, short in the file."""
    return f"{value:.1f}".removesuffix(".0")


def format_number(value: float) -> str:
    """Return compact tick text: 0.05, 250, 2.5k, 1.2M."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e3:
        return f"{value / 1e3:.3g}k"
    if size == 0:
        return "0"
    return f"{value:.3g}"


def format_value(value: float) -> str:
    """Return a measured value with the precision it deserves: 4,144 / 391 / 53.3 / 0.97."""
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _with_unit(text: str, unit: str) -> str:
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


# Axes


@dataclass(frozen=True)
class Axis:
    """A value range mapped onto [0, 1], with its tick values."""

    lo: float
    hi: float
    log: bool
    ticks: tuple[float, ...]

    def fraction(self, value: float) -> float:
        """Return where `value` falls between lo (0) and hi (1)."""
        if self.log:
            return (math.log10(value) - math.log10(self.lo)) / (
                math.log10(self.hi) - math.log10(self.lo)
            )
        return (value - self.lo) / (self.hi - self.lo)


def nice_step(span: float, count: int = 5) -> float:
    """Return the 1-2-5 x 10^k step that cuts `span` into about `count` intervals."""
    raw = span / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5):
        if multiple * magnitude >= raw * 0.999:
            return multiple * magnitude
    return 10 * magnitude


def linear_axis(values: Iterable[float], *, from_zero: bool = False, count: int = 5) -> Axis:
    """Return a linear axis over `values`, widened to whole 1-2-5 steps."""
    data = list(values) or [0.0, 1.0]
    lo, hi = min(data), max(data)
    if from_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:  # one value: give it room on both sides
        pad = abs(lo) * 0.5 or 1.0
        lo, hi = (lo - pad if not (from_zero and lo >= 0) else 0.0), hi + pad
    step = nice_step(hi - lo, count)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    ticks = tuple(round(k * step, 12) for k in range(first, last + 1))
    return Axis(ticks[0], ticks[-1], False, ticks)


def log_axis(values: Iterable[float]) -> Axis:
    """Return a log axis over positive `values` with 1-2-5 (or decade) ticks."""
    data = [v for v in values if v > 0] or [1.0, 10.0]
    lo, hi = min(data), max(data)
    decades = math.log10(hi / lo) if hi > lo else 0.0
    multiples: tuple[float, ...] = (1, 2, 5) if decades <= 3 else (1,)
    if decades <= 1:
        multiples = (1, 2, 3, 5)
    low_exp, high_exp = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    candidates = sorted(
        float(f"{m * 10.0**e:.12g}") for e in range(low_exp, high_exp + 1) for m in multiples
    )
    start = max(c for c in candidates if c <= lo * (1 + 1e-9))
    end = min(c for c in candidates if c >= hi * (1 - 1e-9))
    if end == start:
        end = next(c for c in candidates if c > start)
    return Axis(start, end, True, tuple(c for c in candidates if start <= c <= end))


def wants_log(values: Collection[float], scale: Scale) -> bool:
    """Decide a log scale: True/False as asked, "auto" when the values span decades."""
    positive = bool(values) and all(v > 0 for v in values)
    if scale == "auto":
        return positive and max(values) / min(values) >= AUTO_LOG_RATIO
    return bool(scale) and positive


def _axis(values: list[float], scale: Scale, from_zero: bool) -> Axis:
    if wants_log(values, scale):
        return log_axis(values)
    return linear_axis(values, from_zero=from_zero)


# Drawing primitives


@dataclass(frozen=True)
class Style:
    """How one series looks: colour, dash pattern and marker shape."""

    color: str
    dash: str
    shape: str

    @classmethod
    def at(cls, index: int) -> Style:
        """Return the index-th style; colours, dashes and shapes cycle at different rates."""
        return cls(
            COLORS[index % len(COLORS)],
            DASHES[index % len(DASHES)],
            SHAPES[index % len(SHAPES)],
        )


def _marker(
    shape: str,
    x: float,
    y: float,
    *,
    fill: str,
    stroke: str,
    r: float = 4.5,
    extra: str = "",
    invalid: bool = False,
) -> str:
    """Return one marker element; `extra` is a child (a <title> tooltip)."""
    paint = f'fill="{fill}" stroke="{stroke}" stroke-width="{2.5 if invalid else 1.5}"'
    if invalid:
        paint += ' class="invalid"'
    if shape == "circle":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" {paint}>{extra}</circle>'
    if shape == "square":
        s = r * 0.9
        return (
            f'<rect x="{_n(x - s)}" y="{_n(y - s)}" width="{_n(2 * s)}" height="{_n(2 * s)}" '
            f"{paint}>{extra}</rect>"
        )
    corners = {
        "triangle": ((0, -1.2), (1.1, 0.8), (-1.1, 0.8)),
        "down": ((0, 1.2), (1.1, -0.8), (-1.1, -0.8)),
        "diamond": ((0, -1.3), (1.1, 0), (0, 1.3), (-1.1, 0)),
        "pentagon": tuple(
            (math.sin(2 * math.pi * k / 5) * 1.15, -math.cos(2 * math.pi * k / 5) * 1.15)
            for k in range(5)
        ),
    }[shape]
    points = " ".join(f"{_n(x + dx * r)},{_n(y + dy * r)}" for dx, dy in corners)
    return f'<polygon points="{points}" {paint}>{extra}</polygon>'


def _text(
    x: float, y: float, text: str, *, size: int = 12, anchor: str = "start", **kw: str
) -> str:
    attrs = "".join(f' {k.replace("_", "-")}="{_esc(v)}"' for k, v in kw.items())
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}"{attrs}>'
        f"{_esc(text)}</text>"
    )


def _open_svg(width: float, height: float, title: str, standalone: bool, kind: str) -> str:
    xmlns = f' xmlns="{SVG_NS}"' if standalone else ""
    return (
        f'<svg{xmlns} class="chart {kind}" role="img" aria-label="{_esc(title)}" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'font-family="{_esc(_FONT)}" style="max-width:100%;height:auto">'
        f"<title>{_esc(title)}</title>"
        f'<rect width="100%" height="100%" fill="#ffffff"/>'
        + _text(width / 2, 22, title, size=14, anchor="middle", font_weight="bold")
    )


@dataclass(frozen=True)
class LegendEntry:
    """One legend line: a sample (line, marker or swatch) and its label."""

    label: str
    color: str
    dash: str = ""
    shape: str | None = None
    line: bool = True
    fill: str | None = None
    ring: str | None = None  # "invalid" or "warned": the special markers


def _legend_sample(entry: LegendEntry, x: float, y: float) -> str:
    parts = []
    if entry.line:
        dash = f' stroke-dasharray="{entry.dash}"' if entry.dash else ""
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(y)}" x2="{_n(x + 28)}" y2="{_n(y)}" '
            f'stroke="{entry.color}" stroke-width="2"{dash}/>'
        )
    if entry.ring == "warned":
        parts.append(_warn_ring(x + 14, y))
    elif entry.shape is not None:
        fill = entry.fill or entry.color
        parts.append(_marker(entry.shape, x + 14, y, fill=fill, stroke=entry.color))
    if not entry.line and entry.shape is None and entry.ring is None:
        parts.append(
            f'<rect x="{_n(x + 4)}" y="{_n(y - 6)}" width="20" height="12" '
            f'fill="{entry.fill or entry.color}" stroke="{entry.color}"/>'
        )
    return "".join(parts)


def _legend(
    entries: Sequence[LegendEntry], left: float, top: float, width: float
) -> tuple[str, int]:
    """Return the legend's SVG (wrapped into rows within `width`) and its row count."""
    parts, x, row = ['<g class="legend">'], left, 0
    for entry in entries:
        span = 36 + len(entry.label) * _CHAR_W + 14
        if x > left and x + span > left + width:
            x, row = left, row + 1
        y = top + row * _LEGEND_ROW
        parts.append(
            '<g class="legend-item">'
            + _legend_sample(entry, x, y)
            + _text(x + 34, y + 4, entry.label)
            + "</g>"
        )
        x += span
    parts.append("</g>")
    return "".join(parts), row + 1 if entries else 0


def _warn_ring(x: float, y: float) -> str:
    return (
        f'<circle cx="{_n(x)}" cy="{_n(y)}" r="8" fill="none" stroke="{WARNED_COLOR}" '
        f'stroke-width="2" stroke-dasharray="2 2" class="warned"/>'
    )


def _special_entries(has_invalid: bool, has_warned: bool) -> list[LegendEntry]:
    entries = []
    if has_invalid:
        entries.append(
            LegendEntry("invalid point", INVALID_COLOR, shape="circle", line=False, fill="#fff")
        )
    if has_warned:
        entries.append(LegendEntry("point with warnings", WARNED_COLOR, line=False, ring="warned"))
    return entries


# Line chart


@dataclass(frozen=True)
class _Frame:
    """The plot area in pixels and the two axes that map data into it."""

    left: float
    top: float
    right: float
    bottom: float
    x: Axis
    y: Axis

    def px(self, x: float, y: float) -> tuple[float, float]:
        """Return the pixel position of a data point."""
        return (
            self.left + self.x.fraction(x) * (self.right - self.left),
            self.bottom - self.y.fraction(y) * (self.bottom - self.top),
        )


def _grid_and_ticks(frame: _Frame, x_unit: str, y_unit: str) -> str:
    parts = ['<g class="axes" stroke-linecap="square">']
    for tick in frame.y.ticks:
        _, y = frame.px(frame.x.lo, tick)
        parts.append(
            f'<line x1="{_n(frame.left)}" y1="{_n(y)}" x2="{_n(frame.right)}" y2="{_n(y)}" '
            'stroke="#e3e3e3"/>'
        )
        label = _with_unit(format_number(tick), y_unit)
        parts.append(_text(frame.left - 6, y + 4, label, size=11, anchor="end", fill="#333"))
    for tick in frame.x.ticks:
        x, _ = frame.px(tick, frame.y.lo)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(frame.top)}" x2="{_n(x)}" y2="{_n(frame.bottom)}" '
            'stroke="#efefef"/>'
        )
        label = _with_unit(format_number(tick), x_unit)
        parts.append(_text(x, frame.bottom + 16, label, size=11, anchor="middle", fill="#333"))
    parts.append(
        f'<path d="M{_n(frame.left)},{_n(frame.top)} V{_n(frame.bottom)} H{_n(frame.right)}" '
        'fill="none" stroke="#444"/></g>'
    )
    return "".join(parts)


def _axis_titles(frame: _Frame, x_label: str, y_label: str, y_title_x: float) -> str:
    middle_y = (frame.top + frame.bottom) / 2
    return _text(
        (frame.left + frame.right) / 2, frame.bottom + 34, x_label, anchor="middle"
    ) + _text(
        y_title_x,
        middle_y,
        y_label,
        anchor="middle",
        transform=f"rotate(-90 {_n(y_title_x)} {_n(middle_y)})",
    )


def _polyline(frame: _Frame, points: Sequence[XY], color: str, dash: str, width: float) -> str:
    if len(points) < 2:
        return ""
    coords = " ".join(f"{_n(px)},{_n(py)}" for px, py in (frame.px(x, y) for x, y in points))
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<polyline points="{coords}" fill="none" stroke="{color}" '
        f'stroke-width="{width}" stroke-linejoin="round"{dashed}/>'
    )


def _whiskers(frame: _Frame, spread: Sequence[tuple[float, float, float]], color: str) -> str:
    parts = []
    for x, low, high in spread:
        px, top = frame.px(x, high)
        _, bottom = frame.px(x, low)
        parts.append(
            f'<path d="M{_n(px)},{_n(top)} V{_n(bottom)} M{_n(px - 4)},{_n(top)} '
            f'h8 M{_n(px - 4)},{_n(bottom)} h8" stroke="{color}" stroke-width="1.2" '
            'fill="none" class="spread"/>'
        )
    return "".join(parts)


@dataclass(frozen=True)
class _Marks:
    """Which points to flag, and the units that tooltips print."""

    invalid: frozenset[tuple[str, float]]
    warned: frozenset[tuple[str, float]]
    x_unit: str
    y_unit: str


def _series_markers(frame: _Frame, name: str, points: Sequence[XY], style: Style, m: _Marks) -> str:
    parts = []
    for x, y in points:
        px, py = frame.px(x, y)
        bad, warned = (name, x) in m.invalid, (name, x) in m.warned
        note = " (INVALID)" if bad else " (warnings)" if warned else ""
        tip = (
            f"<title>{_esc(name)}: {_esc(_with_unit(format_value(x), m.x_unit))} → "
            f"{_esc(_with_unit(format_value(y), m.y_unit))}{note}</title>"
        )
        if bad:
            parts.append(
                _marker(
                    style.shape,
                    px,
                    py,
                    fill="#ffffff",
                    stroke=INVALID_COLOR,
                    r=6,
                    extra=tip,
                    invalid=True,
                )
            )
        else:
            parts.append(_marker(style.shape, px, py, fill=style.color, stroke="#fff", extra=tip))
        if warned and not bad:
            parts.append(_warn_ring(px, py))
    return "".join(parts)


def _y_values(
    series: Mapping[str, Sequence[XY]],
    ceiling: Mapping[str, Sequence[XY]],
    spread: Mapping[str, Sequence[tuple[float, float, float]]],
) -> list[float]:
    values = [y for points in (*series.values(), *ceiling.values()) for _, y in points]
    values += [v for rows in spread.values() for _, low, high in rows for v in (low, high)]
    return values


def line_chart(
    series: Mapping[str, Sequence[XY]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_unit: str = "",
    y_unit: str = "",
    log_x: Scale = False,
    log_y: Scale = False,
    ceiling: Mapping[str, Sequence[XY]] | None = None,
    invalid: Collection[tuple[str, float]] = (),
    warned: Collection[tuple[str, float]] = (),
    spread: Mapping[str, Sequence[tuple[float, float, float]]] | None = None,
    y_from_zero: bool = True,
    styles: Mapping[str, int] | None = None,
    width: int = 640,
    standalone: bool = True,
) -> str:
    """Return an SVG line chart: one line per series, markers on points (see module doc)."""
    ceiling, spread = ceiling or {}, spread or {}
    ordered = {name: sorted(points) for name, points in series.items()}
    xs = [x for points in (*ordered.values(), *ceiling.values()) for x, _ in points]
    x_axis = _axis(xs, log_x, from_zero=False)
    y_values = _y_values(ordered, ceiling, spread)
    y_axis = _axis(y_values, log_y, from_zero=y_from_zero and not wants_log(y_values, log_y))
    tick_chars = max(len(_with_unit(format_number(t), y_unit)) for t in y_axis.ticks)
    left = 30 + tick_chars * 6.2 + 8
    frame = _Frame(left, _TITLE_H + 8, width - 40, _TITLE_H + 8 + _PLOT_H, x_axis, y_axis)
    style_of = {
        name: Style.at(styles.get(name, i) if styles else i) for i, name in enumerate(ordered)
    }
    marks = _Marks(frozenset(invalid), frozenset(warned), x_unit, y_unit)
    body = [_grid_and_ticks(frame, x_unit, y_unit), _axis_titles(frame, x_label, y_label, 16)]
    entries = []
    for name, points in ceiling.items():
        color = style_of[name].color if name in style_of else "#555555"
        label = f"{name} ceiling" if name in style_of else name
        body.append(
            f'<g class="ceiling">{_polyline(frame, sorted(points), color, CEILING_DASH, 1.6)}</g>'
        )
        entries.append(LegendEntry(label, color, CEILING_DASH))
    for name, points in ordered.items():
        style = style_of[name]
        body.append(
            f'<g class="series" data-name="{_esc(name)}">'
            + _polyline(frame, points, style.color, style.dash, 2.2)
            + _whiskers(frame, spread.get(name, ()), style.color)
            + _series_markers(frame, name, points, style, marks)
            + "</g>"
        )
    legend_entries = [
        LegendEntry(name, s.color, s.dash, s.shape) for name, s in style_of.items()
    ] + entries
    legend_entries += _special_entries(bool(marks.invalid), bool(marks.warned))
    legend, rows = _legend(legend_entries, 16, frame.bottom + 58, width - 32)
    height = frame.bottom + 50 + rows * _LEGEND_ROW + 4
    return _open_svg(width, height, title, standalone, "line") + "".join(body) + legend + "</svg>"


# Bar chart


def _bar_layout(categories: int, measures: int) -> tuple[float, float]:
    """Return (bar thickness, group height) for so many bars."""
    bar = 16.0 if measures == 1 else 12.0
    return bar, measures * (bar + 2) + 12


def _bar(x0: float, y: float, length: float, bar: float, color: str, state: str, tip: str) -> str:
    outline = {
        "invalid": (
            f'stroke="{INVALID_COLOR}" stroke-width="2.5" fill-opacity="0.3" class="invalid"'
        ),
        "warned": f'stroke="{WARNED_COLOR}" stroke-width="2" stroke-dasharray="3 2" class="warned"',
    }.get(state, 'stroke="none"')
    return (
        f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(max(length, 0.5))}" height="{_n(bar)}" '
        f'fill="{color}" {outline}><title>{_esc(tip)}</title></rect>'
    )


def _bar_note(state: str) -> str:
    return {"invalid": " ✗ invalid", "warned": " ⚠"}.get(state, "")


def bar_chart(
    bars: Mapping[str, Mapping[str, float | None]],
    *,
    title: str,
    value_label: str,
    unit: str = "",
    ceiling: float | None = None,
    ceiling_label: str = "ceiling",
    invalid: Collection[str] = (),
    warned: Collection[str] = (),
    spread: Mapping[tuple[str, str], tuple[float, float]] | None = None,
    width: int = 640,
    standalone: bool = True,
) -> str:
    """Return an SVG horizontal bar chart: a group per category, a colour per measure."""
    spread = spread or {}
    measures = list(dict.fromkeys(m for values in bars.values() for m in values))
    values = [v for group in bars.values() for v in group.values() if v is not None]
    values += [v for pair in spread.values() for v in pair]
    axis = linear_axis([*values, *([ceiling] if ceiling is not None else [])], from_zero=True)
    bar, group_h = _bar_layout(len(bars), len(measures))
    label_w = max((len(c) for c in bars), default=4) * _CHAR_W + 16
    value_w = max((len(_with_unit(format_value(v), unit)) for v in values), default=4) * _CHAR_W
    left, right = label_w, width - value_w - 70
    top = _TITLE_H + 12
    bottom = top + max(len(bars), 1) * group_h
    frame = _Frame(left, top, right, bottom, axis, Axis(0, 1, False, ()))
    parts = [_value_ticks(frame, unit)]
    for row, (category, group) in enumerate(bars.items()):
        y = top + row * group_h + 6
        state = "invalid" if category in invalid else "warned" if category in warned else ""
        parts.append(_text(left - 8, y + (group_h - 12) / 2 + 4, category, anchor="end"))
        for k, measure in enumerate(measures):
            where = _BarPlace(y + k * (bar + 2), bar, COLORS[k % len(COLORS)], state, unit)
            parts.append(
                _bar_row(
                    frame,
                    f"{category} {measure}",
                    group.get(measure),
                    where,
                    spread.get((category, measure)),
                )
            )
    entries = [LegendEntry(m, COLORS[k % len(COLORS)], line=False) for k, m in enumerate(measures)]
    if ceiling is not None:
        parts.append(_ceiling_mark(frame, ceiling))
        entries.append(LegendEntry(ceiling_label, "#555555", CEILING_DASH))
    entries += _special_entries(bool(set(invalid) & set(bars)), bool(set(warned) & set(bars)))
    parts.append(_text((left + right) / 2, bottom + 34, value_label, anchor="middle"))
    legend, rows = _legend(entries, 16, bottom + 58, width - 32)
    height = bottom + 50 + rows * _LEGEND_ROW + 4
    return _open_svg(width, height, title, standalone, "bar") + "".join(parts) + legend + "</svg>"


def _value_ticks(frame: _Frame, unit: str) -> str:
    parts = ['<g class="axes">']
    for tick in frame.x.ticks:
        x, _ = frame.px(tick, 0)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(frame.top)}" x2="{_n(x)}" y2="{_n(frame.bottom)}" '
            'stroke="#e3e3e3"/>'
        )
        label = _with_unit(format_number(tick), unit)
        parts.append(_text(x, frame.bottom + 16, label, size=11, anchor="middle", fill="#333"))
    parts.append(
        f'<path d="M{_n(frame.left)},{_n(frame.top)} V{_n(frame.bottom)} H{_n(frame.right)}" '
        'fill="none" stroke="#444"/></g>'
    )
    return "".join(parts)


@dataclass(frozen=True)
class _BarPlace:
    """Where one bar goes and how it looks."""

    y: float
    thickness: float
    color: str
    state: str  # "", "warned" or "invalid"
    unit: str


def _bar_row(
    frame: _Frame,
    name: str,
    value: float | None,
    at: _BarPlace,
    whisker: tuple[float, float] | None,
) -> str:
    if value is None:
        return _text(
            frame.left + 4, at.y + at.thickness - 2, f"{name}: no data", size=11, fill="#777"
        )
    end, _ = frame.px(value, 0)
    text = _with_unit(format_value(value), at.unit) + _bar_note(at.state)
    parts = [
        _bar(
            frame.left, at.y, end - frame.left, at.thickness, at.color, at.state, f"{name}: {text}"
        )
    ]
    label_x = end
    if whisker is not None:
        low, high = (frame.px(v, 0)[0] for v in whisker)
        mid = at.y + at.thickness / 2
        parts.append(
            f'<path d="M{_n(low)},{_n(mid)} H{_n(high)} M{_n(low)},{_n(mid - 4)} v8 '
            f'M{_n(high)},{_n(mid - 4)} v8" stroke="#222" stroke-width="1.2" fill="none" '
            'class="spread"/>'
        )
        label_x = max(end, high)
    color = INVALID_COLOR if at.state == "invalid" else "#222"
    # A white halo keeps the label legible where it crosses a grid or ceiling line.
    halo = {"stroke": "#ffffff", "stroke_width": "3", "paint_order": "stroke"}
    parts.append(_text(label_x + 5, at.y + at.thickness - 2, text, size=11, fill=color, **halo))
    return "".join(parts)


def _ceiling_mark(frame: _Frame, ceiling: float) -> str:
    x, _ = frame.px(ceiling, 0)
    return (
        f'<g class="ceiling"><line x1="{_n(x)}" y1="{_n(frame.top - 6)}" x2="{_n(x)}" '
        f'y2="{_n(frame.bottom)}" stroke="#555555" stroke-width="1.6" '
        f'stroke-dasharray="{CEILING_DASH}"/></g>'
    )
