"""Build the configured store: a local directory, or S3 with credentials from the environment."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ..config.loader import LoadedConfig
from ..config.model import S3Config, read_secret
from .base import BackupStore, StoreError


def _private_fs() -> Any:
    """A local filesystem whose directories are 0700 and files 0600 whatever the umask.

    Backups hold every user's data; the process umask is usually 022, which would make them
    world-readable. Files are created 0600 before any byte is written (no readable window).
    """
    from fsspec.implementations.local import LocalFileSystem

    class PrivateLocalFileSystem(LocalFileSystem):  # type: ignore[misc]
        def makedirs(self, path: str, exist_ok: bool = False) -> None:
            target = Path(self._strip_protocol(path))
            if target.is_dir() and not exist_ok:
                raise FileExistsError(str(target))
            missing = [target, *target.parents]
            for directory in reversed(missing[:next(i for i, d in enumerate(missing) if d.is_dir())]):
                with contextlib.suppress(FileExistsError):
                    directory.mkdir(mode=0o700)

        def _create_private(self, path: str, *, exclusive: bool = False) -> None:
            path = self._strip_protocol(path)
            self.makedirs(self._parent(path), exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_EXCL if exclusive else 0)
            fd = os.open(path, flags, 0o600)
            try:
                os.fchmod(fd, 0o600)
            finally:
                os.close(fd)

        def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
            self._create_private(path, exclusive=mode == "create")
            super().pipe_file(path, value, **kwargs)

        def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
            if self.isfile(path1):
                self._create_private(path2)
            super().cp_file(path1, path2, **kwargs)

    return PrivateLocalFileSystem(auto_mkdir=True)


def local_store(path: Path) -> BackupStore:
    """A directory store readable by its owner only (0700; files 0600)."""
    path = Path(path).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return BackupStore(_private_fs(), str(path), f"local store {path}")


def s3_store(cfg: S3Config) -> BackupStore:
    """S3 (or any S3-compatible endpoint); keys and secret come only from the named env vars."""
    import s3fs

    key = os.environ.get(cfg.access_key_id_env)
    secret = read_secret(cfg.secret_access_key_env, None)
    client_kwargs: dict[str, str] = {"region_name": cfg.region}
    if cfg.endpoint_url:
        client_kwargs["endpoint_url"] = cfg.endpoint_url
    fs = s3fs.S3FileSystem(key=key or None, secret=secret or None, anon=False, client_kwargs=client_kwargs,
                           use_listings_cache=False, skip_instance_cache=True)
    prefix = cfg.prefix.strip("/")
    root = f"{cfg.bucket}/{prefix}" if prefix else cfg.bucket
    where = f" at {cfg.endpoint_url}" if cfg.endpoint_url else ""
    return BackupStore(fs, root, f"s3://{root}{where}",
                       upload_options={"chunksize": cfg.multipart_chunk_mib * 1024 * 1024})


def open_store(cfg: LoadedConfig) -> BackupStore:
    store = cfg.config.store
    if store.kind == "local":
        return local_store(cfg.store_path)
    if store.kind == "s3":
        return s3_store(store.s3)
    raise StoreError(f"unknown store kind {store.kind!r}")
