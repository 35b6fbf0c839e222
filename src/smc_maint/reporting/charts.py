"""Small inline SVG charts (line charts and a daily status grid): no charting dependency needed.

Every function is pure and returns escaped SVG markup, safe to place in an HTML page as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from markupsafe import Markup

from .fmt import FORMATTERS

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563")
STATUS_COLOURS = {"ok": "#16a34a", "warning": "#eab308", "critical": "#dc2626", "unknown": "#9333ea",
                  "skipped": "#9ca3af"}


def _safe(svg: str) -> Markup:
    """Mark built SVG as safe: every interpolated text in this module passes ``html.escape`` first."""
    return Markup(svg)  # noqa: S704 - values are escaped where they are interpolated


def _x(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def line_chart(series: Mapping[str, Sequence[tuple[str, float]]], *, title: str, unit: str = "number",
               width: int = 640, height: int = 220, step: bool = False) -> Markup:
    """A line chart of named series of (ISO time, value); an empty chart says so instead of drawing."""
    fmt = FORMATTERS[unit]
    points = [(_x(t), v) for s in series.values() for t, v in s]
    label = escape(title)
    if not points:
        return _safe(f'<svg class="chart" role="img" aria-label="{label}" width="{width}" height="60" '
                      f'xmlns="http://www.w3.org/2000/svg"><text x="8" y="20" font-weight="bold">{label}</text>'
                      f'<text x="8" y="44" fill="#6b7280">no data recorded in this period</text></svg>')
    left, right, top, bottom = 70, 10, 28, 36
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(0.0, min(p[1] for p in points)), max(p[1] for p in points)
    if x1 == x0:
        x0, x1 = x0 - 43200, x1 + 43200
    if y1 == y0:
        y1 = y0 + 1
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    parts = [f'<svg class="chart" role="img" aria-label="{label}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="4" y="16" font-weight="bold">{label}</text>',
             f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#9ca3af"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#9ca3af"/>']
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + (y1 - y0) * frac
        parts.append(f'<text x="{left - 4}" y="{sy(yv) + 4:.1f}" text-anchor="end" font-size="10">'
                     f'{escape(fmt(yv))}</text>')
    for xv in (x0, x1):
        parts.append(f'<text x="{sx(xv):.1f}" y="{top + ph + 14}" text-anchor="middle" font-size="10">'
                     f'{datetime.fromtimestamp(xv, UTC).strftime("%m-%d")}</text>')
    if y0 < 0 < y1:
        parts.append(f'<line x1="{left}" y1="{sy(0):.1f}" x2="{left + pw}" y2="{sy(0):.1f}" stroke="#d1d5db" '
                     'stroke-dasharray="3"/>')
    for i, (name, data) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        coords = [(sx(_x(t)), sy(v)) for t, v in data]
        if not coords:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for (x, y), (t, v) in zip(coords, data, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
                         f'<title>{escape(name)} {escape(t[:16])}: {escape(fmt(v))}</title></circle>')
        parts.append(f'<text x="{left + 8 + 140 * i}" y="{height - 6}" fill="{colour}" font-size="11">'
                     f'&#9632; {escape(name)}</text>')
    parts.append("</svg>")
    return _safe("".join(parts))


def status_grid(grid: Mapping[str, Any], *, title: str = "Daily status", cell: int = 14) -> Markup:
    """Procedures x days, coloured by the worst status of that day; blank = did not run."""
    days: list[str] = list(grid.get("days", []))
    rows: list[Mapping[str, Any]] = list(grid.get("rows", []))
    label = escape(title)
    if not days or not rows:
        return _safe(f'<svg class="chart" role="img" aria-label="{label}" width="400" height="40" '
                      f'xmlns="http://www.w3.org/2000/svg"><text x="8" y="24" fill="#6b7280">'
                      f'{label}: no runs recorded in this period</text></svg>')
    left, top = 170, 36
    width, height = left + cell * len(days) + 10, top + cell * len(rows) + 10
    parts = [f'<svg class="chart status-grid" role="img" aria-label="{label}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><text x="4" y="14" font-weight="bold">{label}</text>']
    for j, day in enumerate(days):
        if j % 5 == 0 or j == len(days) - 1:
            parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 6}" text-anchor="middle" '
                         f'font-size="9">{escape(day[8:10])}</text>')
    for i, row in enumerate(rows):
        y = top + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell - 3}" text-anchor="end" font-size="11">'
                     f'{escape(str(row["procedure"]))}</text>')
        for j, status in enumerate(row["cells"]):
            colour = STATUS_COLOURS.get(status, "#ffffff")
            what = status or "did not run"
            parts.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                         f'fill="{colour}" stroke="#e5e7eb"><title>{escape(str(row["procedure"]))} '
                         f'{escape(days[j])}: {escape(what)}</title></rect>')
    parts.append("</svg>")
    return _safe("".join(parts))


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def heat_map(trades: Sequence[float], *, title: str = "Trading activity (mean trades per hour)",
             cell: int = 16) -> Markup:
    """Weekday x hour of the day, shaded by mean trades (168 values, Monday 00:00 first)."""
    label = escape(title)
    if len(trades) != 168:
        return _safe(f'<svg class="chart" role="img" aria-label="{label}" width="400" height="40" '
                     f'xmlns="http://www.w3.org/2000/svg"><text x="8" y="24" fill="#6b7280">'
                     f'{label}: no activity recorded yet (metrics-snapshot records it)</text></svg>')
    top, left = max(trades) or 1.0, 40
    width, height = left + cell * 24 + 10, 36 + cell * 7 + 10
    parts = [f'<svg class="chart heat-map" role="img" aria-label="{label}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><text x="4" y="14" font-weight="bold">{label}</text>']
    for hour in range(0, 24, 3):
        parts.append(f'<text x="{left + hour * cell + cell / 2}" y="30" text-anchor="middle" '
                     f'font-size="9">{hour:02d}</text>')
    for dow, day in enumerate(WEEKDAYS):
        y = 36 + dow * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell - 4}" text-anchor="end" font-size="11">{day}</text>')
        for hour in range(24):
            value = float(trades[dow * 24 + hour])
            alpha = 0.05 + 0.95 * value / top
            parts.append(f'<rect x="{left + hour * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                         f'fill="#2563eb" fill-opacity="{alpha:.2f}"><title>{day} {hour:02d}:00: '
                         f'{value:g} trades</title></rect>')
    parts.append("</svg>")
    return _safe("".join(parts))
