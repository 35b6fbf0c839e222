"""Human formatting of figures for reports and the dashboard (pure, shared by templates and charts)."""

from __future__ import annotations

from datetime import date, timedelta


def bytes_(value: float | None) -> str:
    if value is None:
        return "not recorded"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def seconds(value: float | None) -> str:
    if value is None:
        return "not recorded"
    v = float(value)
    if v < 60:
        return f"{v:.1f} s"
    if v < 3600:
        return f"{int(v // 60)} min {int(v % 60):02d} s"
    if v < 86400 * 2:
        return f"{int(v // 3600)} h {int(v % 3600 // 60):02d} min"
    return f"{v / 86400:.1f} days"


def ratio(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.2f}%".replace(".00%", "%")


def money(value: float | None) -> str:
    return "not recorded" if value is None else f"{value:+,.2f}"


def number(value: float | None) -> str:
    if value is None:
        return "not recorded"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def day_ranges(days: list[str]) -> str:
    """``["2026-10-01", "2026-10-02", "2026-10-05"]`` -> ``"2026-10-01 to 2026-10-02, 2026-10-05"``."""
    parts: list[str] = []
    run: list[date] = []
    for d in sorted(date.fromisoformat(x) for x in days):
        if run and d - run[-1] != timedelta(days=1):
            parts.append(_span(run))
            run = []
        run.append(d)
    if run:
        parts.append(_span(run))
    return ", ".join(parts)


def _span(run: list[date]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]} to {run[-1]}"


FORMATTERS = {"bytes": bytes_, "seconds": seconds, "ratio": ratio, "money": money, "number": number}
