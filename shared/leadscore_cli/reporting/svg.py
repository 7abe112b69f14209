"""Small inline SVG charts (bars, lines, horizontal bars) drawn by hand: no library, no script, no CDN."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 560, 320
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 20, 36, 56
TICKS = 5
BAR = "#3b6fb6"
FLAGGED = "#d9822b"
REFERENCE = "#999999"
Format = Callable[[float], str]


def as_percent(value: float) -> str:
    return f"{value:.0%}"


def plain(value: float) -> str:
    return f"{value:g}"


@dataclass
class Axes:
    """A plot area with its value ranges; ``x`` and ``y`` place a value in pixels."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = MARGIN_LEFT
    elements: list[str] = field(default_factory=list)

    def x(self, value: float) -> float:
        low, high = self.x_range
        span = (high - low) or 1.0
        return self.left + (value - low) / span * (self.width - self.left - MARGIN_RIGHT)

    def y(self, value: float) -> float:
        low, high = self.y_range
        span = (high - low) or 1.0
        bottom = self.height - MARGIN_BOTTOM
        return bottom - (value - low) / span * (bottom - MARGIN_TOP)

    def text(
        self, x: float, y: float, content: str, anchor: str = "middle", size: int = 11, **extra: str
    ) -> None:
        attributes = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in extra.items())
        self.elements.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{attributes}>'
            f"{escape(content)}</text>"
        )

    def line(
        self, x1: float, y1: float, x2: float, y2: float, *, colour: str = "#333", dash: str = ""
    ) -> None:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self.elements.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}"{dashed}/>'
        )

    def frame(self, title: str, x_label: str, y_label: str, y_format: Format) -> None:
        """Title, axes, the y ticks with grid lines, and the axis labels."""
        bottom, top = self.height - MARGIN_BOTTOM, MARGIN_TOP
        self.text(self.width / 2, 20, title, size=14, font_weight="bold")
        low, high = self.y_range
        for step in range(TICKS + 1):
            value = low + (high - low) * step / TICKS
            self.line(self.left, self.y(value), self.width - MARGIN_RIGHT, self.y(value), colour="#e4e4e4")
            self.text(self.left - 6, self.y(value) + 4, y_format(value), anchor="end")
        self.line(self.left, top, self.left, bottom)
        self.line(self.left, bottom, self.width - MARGIN_RIGHT, bottom)
        self.text((self.left + self.width - MARGIN_RIGHT) / 2, self.height - 12, x_label)
        middle = (top + bottom) / 2
        self.text(16, middle, y_label, transform=f"rotate(-90 16 {middle:.1f})")

    def x_ticks(self, x_format: Format) -> None:
        low, high = self.x_range
        for step in range(TICKS + 1):
            value = low + (high - low) * step / TICKS
            self.text(self.x(value), self.height - MARGIN_BOTTOM + 16, x_format(value))

    def svg(self, description: str) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'width="{self.width}" height="{self.height}" role="img" font-family="sans-serif">'
            f"<title>{escape(description)}</title>{''.join(self.elements)}</svg>"
        )


def nice_top(value: float, minimum: float) -> float:
    """A round upper bound for an axis: 1, 2, 2.5 or 5 times a power of ten."""
    value = max(value, minimum)
    power = 10.0 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    notes: Sequence[str],
    *,
    x_label: str,
    y_label: str,
    y_format: Format = as_percent,
    y_top: float | None = 1.0,
    reference: float | None = None,
) -> str:
    """Vertical bars, one per label, each with its note (a count) above it; a dashed reference line.
    ``y_top`` None: a round number above the highest bar."""
    top = y_top or nice_top(max([v or 0.0 for v in values] + [reference or 0.0]), 1.0)
    axes = Axes((0, max(len(labels), 1)), (0, top))
    axes.frame(title, x_label, y_label, y_format)
    slot = (axes.x(1) - axes.x(0)) if labels else 0
    for index, (label, value, note) in enumerate(zip(labels, values, notes, strict=True)):
        left = axes.x(index) + slot * 0.15
        axes.text(axes.x(index + 0.5), axes.height - MARGIN_BOTTOM + 16, label)
        if value is None:
            continue
        y = axes.y(value)
        axes.elements.append(
            f'<rect x="{left:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{axes.y(0) - y:.1f}" fill="{BAR}">'
            f"<title>{escape(f'{label}: {y_format(value)}, {note}')}</title></rect>"
        )
        axes.text(axes.x(index + 0.5), y - 4, f"{y_format(value)} {note}", size=10)
    if reference is not None:
        axes.line(
            axes.left,
            axes.y(reference),
            axes.width - MARGIN_RIGHT,
            axes.y(reference),
            colour=REFERENCE,
            dash="5,4",
        )
    return axes.svg(title)


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]
    colour: str = BAR
    notes: Sequence[str] = ()


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float],
    y_range: tuple[float, float] = (0.0, 1.0),
    x_format: Format = plain,
    y_format: Format = as_percent,
    diagonal: bool = False,
) -> str:
    """Lines through each series' points, dotted where they carry notes (a count shown beside each)."""
    axes = Axes(x_range, y_range)
    axes.frame(title, x_label, y_label, y_format)
    axes.x_ticks(x_format)
    if diagonal:
        axes.line(
            axes.x(x_range[0]),
            axes.y(y_range[0]),
            axes.x(x_range[1]),
            axes.y(y_range[1]),
            colour=REFERENCE,
            dash="5,4",
        )
    for number, line in enumerate(series):
        path = " ".join(f"{axes.x(x):.1f},{axes.y(y):.1f}" for x, y in line.points)
        axes.elements.append(
            f'<polyline points="{path}" fill="none" stroke="{line.colour}" stroke-width="2"/>'
        )
        for (x, y), note in zip(line.points, line.notes, strict=False):
            axes.elements.append(
                f'<circle cx="{axes.x(x):.1f}" cy="{axes.y(y):.1f}" r="3.5" fill="{line.colour}"/>'
            )
            near_right = axes.x(x) > axes.width - MARGIN_RIGHT - 40
            offset, anchor = (-6, "end") if near_right else (6, "start")
            axes.text(axes.x(x) + offset, axes.y(y) - 6, note, anchor=anchor, size=10)
        if len(series) > 1:
            axes.text(
                axes.width - MARGIN_RIGHT - 4,
                MARGIN_TOP + 14 * (number + 1),
                line.name,
                anchor="end",
                fill=line.colour,
            )
    return axes.svg(title)


def hbar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    notes: Sequence[str],
    flagged: Sequence[bool],
    *,
    x_label: str,
    reference: float = 1.0,
) -> str:
    """Horizontal bars, one row per label (rule lift); flagged rows in another colour."""
    row = 22
    height = MARGIN_TOP + MARGIN_BOTTOM + row * max(len(labels), 1)
    # Room right of the longest bar for its note
    top = nice_top(max([*values, reference]) * 1.3, reference)
    axes = Axes((0, top), (0, 1), height=height, left=200)
    bottom = height - MARGIN_BOTTOM
    axes.text(axes.width / 2, 20, title, size=14, font_weight="bold")
    axes.x_ticks(lambda value: f"{value:.1f}")
    axes.line(axes.left, MARGIN_TOP, axes.left, bottom)
    axes.line(axes.left, bottom, axes.width - MARGIN_RIGHT, bottom)
    axes.text((axes.left + axes.width - MARGIN_RIGHT) / 2, height - 12, x_label)
    for index, (label, value, note, flag) in enumerate(zip(labels, values, notes, flagged, strict=True)):
        y = MARGIN_TOP + index * row
        axes.text(axes.left - 6, y + row * 0.65, label, anchor="end")
        axes.elements.append(
            f'<rect x="{axes.left}" y="{y + 3}" width="{axes.x(value) - axes.left:.1f}" height="{row - 6}" '
            f'fill="{FLAGGED if flag else BAR}"><title>{escape(f"{label}: {note}")}</title></rect>'
        )
        axes.text(axes.x(value) + 4, y + row * 0.65, note, anchor="start", size=10)
    axes.line(axes.x(reference), MARGIN_TOP, axes.x(reference), bottom, colour=REFERENCE, dash="5,4")
    return axes.svg(title)
