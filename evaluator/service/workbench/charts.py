"""Bar charts drawn on the server as SVG: no script, readable without colour (each bar is labelled
with its value), described for screen readers; the page gives the same figures in a table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

COLOURS = ("#000091", "#c9191e")
"""The series' colours (Marianne blue, red), distinct for the colour-blind and in print."""
_BAR, _GAP, _LABEL, _WIDTH = 18, 10, 230, 760


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart: one row per category, one bar per series."""

    title: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[Decimal, ...]], ...]
    """(name, one value per category)."""
    show: Callable[[Decimal], str]
    """How a value is written (in euros, as a count…)."""

    def svg(self) -> str:
        top = max((value for _, values in self.series for value in values), default=Decimal(0)) or Decimal(1)
        row = _BAR * len(self.series) + _GAP
        height = row * len(self.categories) + 30
        scale = (_WIDTH - _LABEL - 110) / top
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" role="img" '
                 f'aria-label="{escape(self.title)}" class="chart"><title>{escape(self.title)}</title>']
        for index, (name, _) in enumerate(self.series):
            x = _LABEL + index * 200
            parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{COLOURS[index % 2]}"/>'
                         f'<text x="{x + 16}" y="14" font-size="12">{escape(name)}</text>')
        for number, category in enumerate(self.categories):
            y = 26 + number * row
            parts.append(f'<text x="{_LABEL - 8}" y="{y + row / 2}" font-size="12" text-anchor="end">'
                         f"{escape(_short(category))}</text>")
            for index, (_, values) in enumerate(self.series):
                value = values[number]
                width = max(1.0, float(value * scale)) if value > 0 else 0.0
                bar_y = y + index * _BAR
                parts.append(f'<rect x="{_LABEL}" y="{bar_y}" width="{width:.1f}" height="{_BAR - 3}" '
                             f'fill="{COLOURS[index % 2]}"/><text x="{_LABEL + width + 4:.1f}" y="{bar_y + 12}" '
                             f'font-size="11">{escape(self.show(value))}</text>')
        return "".join(parts) + "</svg>"


def _short(text: str, most: int = 34) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def rows(chart: Chart) -> Sequence[tuple[str, ...]]:
    """The chart's figures as the rows of a table (the category, then each series' value)."""
    return [(category, *(chart.show(values[index]) for _, values in chart.series))
            for index, category in enumerate(chart.categories)]
