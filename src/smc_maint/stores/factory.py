"""Build the configured store: a local directory, or S3 with credentials from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from ..config.loader import LoadedConfig
from ..config.model import S3Config
from ..redact import register_secret
from .base import BackupStore, StoreError


def local_store(path: Path) -> BackupStore:
    from fsspec.implementations.local import LocalFileSystem

    path = Path(path).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return BackupStore(LocalFileSystem(auto_mkdir=True), str(path), f"local store {path}")


def s3_store(cfg: S3Config) -> BackupStore:
    """S3 (or any S3-compatible endpoint); keys and secret come only from the named env vars."""
    import s3fs

    key = os.environ.get(cfg.access_key_id_env)
    secret = os.environ.get(cfg.secret_access_key_env)
    register_secret(secret)
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
