"""Backup stores: one interface over a local directory and S3-compatible object storage."""

from .base import BackupStore, StoreError
from .factory import open_store

__all__ = ["BackupStore", "StoreError", "open_store"]
