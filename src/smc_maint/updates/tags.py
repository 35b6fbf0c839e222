"""Newer image tags: the OCI distribution tags list (``GET /v2/<name>/tags/list``, pages followed via
the Link header, anonymous bearer tokens) within one total deadline; majors apart from minors/patches."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from ..adapters import http
from ..redact import redact

VERSION = re.compile(r"^(v?)(\d+)\.(\d+)(?:\.(\d+))?$")  # releases only: no -rc, -alpine, latest
MAX_PAGES = 200


class TagsUnavailable(Exception):
    """The registry could not be asked (unreachable, refused, deadline); the message says why."""


@dataclass(frozen=True)
class ImageName:
    registry: str  # host[:port]; docker.io for Docker Hub
    repository: str  # path in the registry (library/postgres for docker.io/postgres)
    tag: str | None

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repository}"


def parse_image(image: str) -> ImageName:
    """``postgres:15.4``, ``ghcr.io/org/app:v1.2.0``, ``127.0.0.1:5000/smc/api:1.0@sha256:..``."""
    rest = image.split("@", 1)[0]
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    if registry == "docker.io" and "/" not in path:
        path = f"library/{path}"
    return ImageName(registry, path, tag)


def version_of(tag: str, prefix: str | None = None) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release tag; with ``prefix``, only tags spelled that way ("v" or "")."""
    m = VERSION.match(tag)
    if not m or (prefix is not None and m.group(1) != prefix):
        return None
    return int(m.group(2)), int(m.group(3)), int(m.group(4) or 0)


@dataclass(frozen=True)
class Newer:
    """The newest tag of each kind above the running one (None: there is none)."""

    current: str
    major: str | None = None
    minor: str | None = None
    patch: str | None = None
    majors: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.major or self.minor or self.patch)


def classify(current: str, tags: list[str]) -> Newer | None:
    """Sort newer release tags of the same spelling into major / minor / patch updates (pure); None if
    ``current`` is no version."""
    cur = version_of(current)
    if cur is None:
        return None
    prefix = "v" if current.startswith("v") else ""  # 1.2.3 and v1.2.3 are different tag schemes
    versions = sorted(((v, t) for t in tags if (v := version_of(t, prefix)) is not None and v > cur),
                      key=lambda x: x[0])
    majors = [t for v, t in versions if v[0] > cur[0]]
    minors = [t for v, t in versions if v[0] == cur[0] and v[1] > cur[1]]
    patches = [t for v, t in versions if v[:2] == cur[:2] and v[2] > cur[2]]
    major_lines = sorted({v[0] for v, _ in versions if v[0] > cur[0]})
    return Newer(current, majors[-1] if majors else None, minors[-1] if minors else None,
                 patches[-1] if patches else None, [str(m) for m in major_lines])


def _get(url: str | httpx.URL, headers: dict[str, str], timeout: float) -> httpx.Response:
    """One GET with a TOTAL deadline (httpx's own timeout is per read: a trickling registry never trips it)."""
    return http.request("GET", str(url), deadline=max(0.1, timeout), headers=headers)


def _json_object(resp: httpx.Response, what: str) -> dict[str, Any]:
    body = resp.json()
    if not isinstance(body, dict):
        raise ValueError(f"{what} is {type(body).__name__}, not an object")
    return body


def _bearer(challenge: str, timeout: float) -> str | None:
    """An anonymous token for a ``Bearer realm=..,service=..,scope=..`` challenge."""
    if not challenge.lower().startswith("bearer "):
        return None
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = params.pop("realm", None)
    if not realm:
        return None
    resp = _get(httpx.URL(realm, params=params), {}, timeout)
    if resp.status_code != 200:
        return None
    body = _json_object(resp, "token answer")
    token = body.get("token") or body.get("access_token")
    return str(token) if token else None


def list_tags(name: ImageName, *, base_url: str | None = None, deadline_seconds: float = 30) -> list[str]:
    """Every tag of ``name`` (all pages) before ``deadline_seconds`` run out; raises TagsUnavailable."""
    end = time.monotonic() + deadline_seconds
    base = base_url or (f"https://{'registry-1.docker.io' if name.registry == 'docker.io' else name.registry}")
    url: str | None = f"{base.rstrip('/')}/v2/{name.repository}/tags/list?n=1000"
    tags: list[str] = []
    headers: dict[str, str] = {"Accept": "application/json"}
    try:
        for _ in range(MAX_PAGES):
            if url is None:
                return tags
            left = end - time.monotonic()
            if left <= 0:
                raise TagsUnavailable(f"{name.ref}: tags list not complete within {deadline_seconds:g} s")
            resp = _get(url, headers, left)
            if resp.status_code == 401 and "Authorization" not in headers:
                token = _bearer(resp.headers.get("www-authenticate", ""), end - time.monotonic())
                if token is None:
                    raise TagsUnavailable(f"{name.ref}: registry wants authentication")
                headers["Authorization"] = f"Bearer {token}"
                continue
            if resp.status_code != 200:
                raise TagsUnavailable(f"{name.ref}: registry answered HTTP {resp.status_code}")
            page = _json_object(resp, "tags list").get("tags") or []
            if not isinstance(page, list):
                raise ValueError(f"tags is {type(page).__name__}, not a list")
            tags.extend(str(t) for t in page)
            nxt = resp.links.get("next", {}).get("url")
            url = urljoin(str(resp.url), nxt) if nxt else None
        raise TagsUnavailable(f"{name.ref}: more than {MAX_PAGES} pages of tags")
    except httpx.HTTPError as exc:
        raise TagsUnavailable(redact(f"{name.ref}: {type(exc).__name__}: {exc}")) from None
    except ValueError as exc:
        raise TagsUnavailable(f"{name.ref}: not a tags list ({exc})") from None
