"""The backup store interface, implemented once over an fsspec filesystem.

Local directories and S3 differ only in the filesystem object and the root; keys are
``<backup id>/<file>`` relative to that root. Errors leave as :class:`StoreError` with a
message fit for an operator (no credentials: they never enter our messages).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..redact import redact

CHUNK = 1 << 20
ProgressFn = Callable[[int], None]


class StoreError(Exception):
    """The store could not be read or written; the message says which key and why."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int


class BackupStore:
    """Files under ``root`` on ``fs`` (an ``fsspec.AbstractFileSystem``)."""

    def __init__(self, fs: Any, root: str, description: str, *,
                 upload_options: dict[str, Any] | None = None) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.description = description
        self.upload_options = dict(upload_options or {})

    def _path(self, key: str) -> str:
        key = key.strip("/")
        if not key or ".." in key.split("/"):
            raise StoreError(f"invalid store key {key!r}")
        return f"{self.root}/{key}"

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except FileNotFoundError:
            raise StoreError(f"{what}: not found in {self.description}") from None
        except Exception as exc:
            raise StoreError(redact(f"{what}: {type(exc).__name__}: {exc}")[:500]) from None

    def backup_ids(self) -> list[str]:
        """Top-level entries (backup directories/prefixes), unsorted, hidden ones excluded."""
        with self._errors("listing backups"):
            self.fs.invalidate_cache()
            if not self.fs.exists(self.root):
                return []
            entries = self.fs.ls(self.root, detail=True)
        names = []
        for entry in entries:
            if entry.get("type") != "directory":
                continue
            name = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            if not name.startswith("."):
                names.append(name)
        return names

    def files(self, prefix: str) -> list[StoredFile]:
        """Every file below ``prefix`` with its size (keys relative to the root)."""
        base = self._path(prefix)
        with self._errors(f"listing {prefix}"):
            if not self.fs.exists(base):
                return []
            found = self.fs.find(base, detail=True)
        out = []
        for name, info in found.items():
            rel = str(name)[len(self.root) + 1:] if str(name).startswith(self.root + "/") else str(name)
            out.append(StoredFile(rel, int(info.get("size") or 0)))
        return sorted(out, key=lambda f: f.key)

    def exists(self, key: str) -> bool:
        with self._errors(f"checking {key}"):
            return bool(self.fs.exists(self._path(key)))

    def read_bytes(self, key: str) -> bytes:
        with self._errors(f"reading {key}"):
            return bytes(self.fs.cat_file(self._path(key)))

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write a small object in one piece (one PUT on S3: readers see all of it or nothing)."""
        with self._errors(f"writing {key}"):
            self.fs.pipe_file(self._path(key), data)

    def upload(self, local: Path, key: str) -> None:
        """Copy a local file into the store (multipart on S3 for large files)."""
        with self._errors(f"uploading {key}"):
            self.fs.put_file(str(local), self._path(key), **self.upload_options)

    def download(self, key: str, local: Path, progress: ProgressFn | None = None) -> str:
        """Copy ``key`` to ``local``; returns the sha256 of what was written."""
        digest = hashlib.sha256()
        with self._errors(f"downloading {key}"), self.fs.open(self._path(key), "rb") as src, \
                open(local, "wb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
                if progress:
                    progress(len(chunk))
        return digest.hexdigest()

    def sha256(self, key: str, progress: ProgressFn | None = None) -> str:
        """Stream ``key`` through sha256 without keeping a copy."""
        digest = hashlib.sha256()
        with self._errors(f"reading {key}"), self.fs.open(self._path(key), "rb") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                if progress:
                    progress(len(chunk))
        return digest.hexdigest()

    def delete(self, prefix: str) -> None:
        """Delete ``prefix`` and everything below it."""
        with self._errors(f"deleting {prefix}"):
            path = self._path(prefix)
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
            self.fs.invalidate_cache()

