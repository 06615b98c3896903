"""Geometry of the statistics page's SVG charts, computed once in Python.

The templates draw plain SVG: widths and x positions in percent (the chart stretches
with the screen while its text keeps its size), heights in pixels, colours as
presentation attributes (no inline style, no script: a strict CSP allows it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Sequential palette (light to dark), readable by colour-blind people (viridis-like).
SEQUENTIAL = ("#f0f4f8", "#cfe3ef", "#9ccbe0", "#5fa8cf", "#2b7bba", "#0b4f8a")
WEEKDAYS = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
WEEKDAY_NAMES = (
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
)


def format_number(value: float, decimals: int = 0) -> str:
    """Format a number the French way: narrow no-break space, decimal comma."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


@dataclass
class Column:
    """One column of a column chart."""

    x: float  # percent of the width
    width: float  # percent
    y: float  # px from the top of the plot
    height: float  # px
    value: int
    label: str  # shown under the axis when ``show_label``
    title: str  # full text for the tooltip and screen readers
    show_label: bool
    partial: bool


@dataclass
class ColumnChart:
    """A column chart over time (months, weeks)."""

    title: str
    columns: list[Column]
    ticks: list[tuple[float, str]]  # (y px, text)
    height: int
    plot_height: int
    total: int
    description: str = ""

    @property
    def empty(self) -> bool:
        """Whether there is nothing to draw."""
        return self.total == 0


def column_chart(
    title: str,
    labels: list[str],
    titles: list[str],
    values: list[int],
    *,
    partial: list[bool] | None = None,
    plot_height: int = 150,
    max_labels: int = 12,
) -> ColumnChart:
    """Return the geometry of a column chart; at most ``max_labels`` axis labels."""
    n = len(values)
    top = max(values, default=0)
    scale_top = _nice_ceiling(top)
    partial = partial or [False] * n
    slot = 100.0 / n if n else 100.0
    gap = min(slot * 0.2, 1.0)
    every = max(1, -(-n // max_labels))
    columns = []
    for i, value in enumerate(values):
        height = plot_height * value / scale_top if scale_top else 0.0
        columns.append(
            Column(
                x=i * slot + gap / 2,
                width=max(slot - gap, 0.1),
                y=plot_height - height,
                height=height,
                value=value,
                label=labels[i],
                title=f"{titles[i]} : {format_number(value)} fait"
                + ("s" if value > 1 else "")
                + (" (période incomplète)" if partial[i] else ""),
                show_label=(i % every == 0),
                partial=partial[i],
            )
        )
    ticks = (
        [
            (plot_height - plot_height * f, format_number(scale_top * f))
            for f in (0.0, 0.5, 1.0)
            # Counts are whole: no middle tick between 0 and 1.
            if (scale_top * f).is_integer()
        ]
        if scale_top
        else []
    )
    return ColumnChart(
        title=title,
        columns=columns,
        ticks=ticks,
        height=plot_height + 22,
        plot_height=plot_height,
        total=sum(values),
    )


@dataclass
class Bar:
    """One horizontal bar: a label, its value and the bar's width in percent."""

    key: str
    label: str
    value: int
    share: float  # percent of the total
    width: float  # percent of the widest bar
    extra: str = ""


@dataclass
class BarChart:
    """A horizontal bar chart (families, categories, lieux, victimes)."""

    title: str
    bars: list[Bar] = field(default_factory=list)
    total: int = 0


def bar_chart(title: str, rows: list[tuple[str, str, int]], *, extra=None) -> BarChart:
    """Return bars for (key, label, value) rows, widest first as given."""
    total = sum(value for _key, _label, value in rows)
    top = max((value for _k, _l, value in rows), default=0)
    bars = [
        Bar(
            key=key,
            label=label,
            value=value,
            share=100.0 * value / total if total else 0.0,
            width=100.0 * value / top if top else 0.0,
            extra=(extra or {}).get(key, ""),
        )
        for key, label, value in rows
    ]
    return BarChart(title=title, bars=bars, total=total)


@dataclass
class GridCell:
    """One cell of the hour × weekday grid."""

    x: float  # percent
    y: float  # px
    value: int
    fill: str
    title: str


@dataclass
class HeatGrid:
    """Facts by local hour (columns) and weekday (rows)."""

    cells: list[GridCell]
    hour_labels: list[tuple[float, str]]  # (x percent, text)
    weekday_labels: list[tuple[float, str]]  # (y px, text)
    cell_width: float  # percent
    cell_height: int  # px
    height: int
    max: int
    legend: list[tuple[str, str]]  # (fill, text)


GRID_LEFT = 11.0  # percent kept for the weekday labels


def heat_grid(counts: list[list[int]], *, cell_height: int = 22) -> HeatGrid:
    """Return the geometry of a 7 × 24 grid of counts (weekday 0 = Monday)."""
    top = max((max(row) for row in counts), default=0)
    width = (100.0 - GRID_LEFT) / 24
    header = 18
    cells = []
    for day, row in enumerate(counts):
        for hour, value in enumerate(row):
            level = _level(value, top, len(SEQUENTIAL))
            cells.append(
                GridCell(
                    x=GRID_LEFT + hour * width,
                    y=header + day * cell_height,
                    value=value,
                    fill=SEQUENTIAL[level],
                    title=f"{WEEKDAY_NAMES[day]}, {hour} h – {hour + 1} h : "
                    f"{format_number(value)} fait{'s' if value > 1 else ''}",
                )
            )
    hour_labels = [(GRID_LEFT + (h + 0.5) * width, f"{h} h") for h in range(0, 24, 3)]
    weekday_labels = [(header + (d + 0.5) * cell_height, WEEKDAYS[d]) for d in range(7)]
    legend = []
    if top:
        steps = len(SEQUENTIAL)
        for level in range(steps):
            low = top * level / steps
            high = top * (level + 1) / steps
            legend.append(
                (SEQUENTIAL[level], f"{format_number(low)} – {format_number(high)}")
            )
    return HeatGrid(
        cells=cells,
        hour_labels=hour_labels,
        weekday_labels=weekday_labels,
        cell_width=width,
        cell_height=cell_height,
        height=header + 7 * cell_height,
        max=top,
        legend=legend,
    )


def _level(value: int, top: int, levels: int) -> int:
    if not top or value <= 0:
        return 0
    return min(levels - 1, max(1, int(levels * value / top + 0.999999) - 1))


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ value."""
    if value <= 0:
        return 0.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10.0 * magnitude
