"""Human formatting of figures for reports and the dashboard (pure, shared by templates and charts)."""

from __future__ import annotations


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


FORMATTERS = {"bytes": bytes_, "seconds": seconds, "ratio": ratio, "money": money, "number": number}
