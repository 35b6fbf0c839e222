"""End-of-life data: a dated offline snapshot of endoflife.date (MIT) shipped as package data, or
the user's refreshed copy in the state directory; and what it says about a running version."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PRODUCTS = ("postgresql", "kubernetes", "python", "nodejs", "pgbouncer")


class EolDataError(Exception):
    """An EOL data file is unreadable or malformed; the message names the file and the field."""


class Cycle(BaseModel):
    """One release cycle as endoflife.date publishes it (unknown fields of its API are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    cycle: str = Field(min_length=1)
    release_date: date | None = Field(None, alias="releaseDate")
    eol: date | bool = False  # a date, or true/false when the project gives none
    latest: str = Field(min_length=1)
    latest_release_date: date | None = Field(None, alias="latestReleaseDate")


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    license: str = "MIT (endoflife.date data)"
    snapshot_date: date
    products: dict[str, list[Cycle]]


def packaged() -> Snapshot:
    return _parse(files("smc_maint.updates").joinpath("eol_snapshot.json").read_bytes(), "packaged EOL snapshot")


def user_copy(home: Path) -> Path:
    return home / "updates" / "eol.json"


def load(home: Path) -> Snapshot:
    """The refreshed copy in the state directory when there is one, else the packaged snapshot."""
    path = user_copy(home)
    if path.exists():
        return _parse(path.read_bytes(), str(path))
    return packaged()


def _parse(raw: bytes, where: str) -> Snapshot:
    try:
        return Snapshot.model_validate(json.loads(raw))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise EolDataError(f"{where}: {loc}: {first['msg']}") from None
        raise EolDataError(f"{where}: not JSON ({exc})") from None


def refresh(home: Path, source: Path, *, product: str | None, snapshot_date: date) -> Snapshot:
    """Replace the EOL data from a downloaded file: either a whole snapshot in our format, or (with
    ``product``) endoflife.date's API answer for one product (``/api/<product>.json``), merged into
    the current data. Validated before anything is written; written atomically."""
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise EolDataError(f"{source}: cannot read ({exc.strerror or exc})") from None
    if product is None:
        new = _parse(raw, str(source))
    else:
        if product not in PRODUCTS:
            raise EolDataError(f"unknown product {product!r} (one of {', '.join(PRODUCTS)})")
        try:
            doc: Any = json.loads(raw)
        except ValueError as exc:
            raise EolDataError(f"{source}: not JSON ({exc})") from None
        if not isinstance(doc, list) or not doc:
            raise EolDataError(f"{source}: expected endoflife.date's list of release cycles for {product}")
        try:
            cycles = [Cycle.model_validate(c) for c in doc]
        except ValidationError as exc:
            first = exc.errors()[0]
            raise EolDataError(f"{source}: cycle {first['loc']}: {first['msg']}") from None
        current = load(home)
        new = Snapshot(source=f"endoflife.date API, {product} refreshed from {source.name}", license=current.license,
                       snapshot_date=snapshot_date, products={**current.products, product: cycles})
    missing = [p for p in PRODUCTS if p not in new.products]
    if missing:
        raise EolDataError(f"{source}: no data for {', '.join(missing)}")
    dest = user_copy(home)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    tmp.write_text(new.model_dump_json(by_alias=True, indent=1))
    os.replace(tmp, dest)
    return new


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


@dataclass(frozen=True)
class Verdict:
    product: str
    version: str
    cycle: str | None
    eol: date | None
    days_to_eol: int | None
    latest_in_cycle: str | None
    minors_behind: int | None  # releases of the cycle newer than the running one (patches for k8s/python)
    newest_cycle: str | None
    note: str = ""


def evaluate(snapshot: Snapshot, product: str, version: str, today: date) -> Verdict:
    """Where ``version`` stands: its cycle, days to that cycle's EOL, how far behind the cycle's latest. Pure."""
    cycles = snapshot.products.get(product, [])
    newest = max((c.cycle for c in cycles), key=_key, default=None)
    vkey = _key(version)
    match = max((c for c in cycles if vkey[:len(_key(c.cycle))] == _key(c.cycle)), key=lambda c: len(c.cycle),
                default=None)
    if match is None:
        return Verdict(product, version, None, None, None, None, None, newest,
                       f"{product} {version}: no release cycle in the EOL data")
    eol = match.eol if isinstance(match.eol, date) else None
    days = (eol - today).days if eol else None
    cycle_len = len(_key(match.cycle))
    latest_key = _key(match.latest)
    behind = None
    if len(latest_key) > cycle_len and len(vkey) > cycle_len:
        behind = max(0, latest_key[cycle_len] - vkey[cycle_len])
    return Verdict(product, version, match.cycle, eol, days, match.latest, behind, newest,
                   "" if match.eol is not True else "end of life (no date given)")
