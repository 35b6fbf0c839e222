"""The backup manifest: what was backed up, from which snapshot, and the checksum of every artifact.

Written last; a backup directory without a valid manifest is not a backup.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MANIFEST = "manifest.json"
RESTORE_MARK = "restore-test.json"
FORMAT_VERSION = 2  # 2: tables keyed unambiguously (schema_facts.table_key) and ``objects`` recorded


class ManifestError(Exception):
    """A manifest is missing, unreadable or malformed; the message says which and why."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Artifact(Model):
    name: str = Field(description="file name relative to the backup directory")
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class TableFacts(Model):
    """Exact facts of one table, read inside the backup's snapshot."""

    rows: int = Field(ge=0)
    fingerprint: str = Field(description="'<method>:<sum of 64-bit row hashes>'; method r = per-column type "
                             "hashes, t = hash of the row's text (see table_facts)")


class SequenceFacts(Model):
    last_value: int
    is_called: bool
    increment: int = 1


class SchemaFacts(Model):
    """What a restore must bring back besides rows (see schema_facts); names are schema-qualified."""

    server_major: int
    sequences: dict[str, SequenceFacts] = Field(default_factory=dict)
    indexes: dict[str, str] = Field(default_factory=dict, description="name -> md5 of pg_get_indexdef")
    constraints: dict[str, str] = Field(default_factory=dict, description="schema.table.name -> md5 of definition")
    views: dict[str, str] = Field(default_factory=dict, description="views and materialized views")
    functions: dict[str, str] = Field(default_factory=dict, description="schema.name(args) -> md5 of definition")
    extensions: dict[str, str] = Field(default_factory=dict, description="name -> version")


class Manifest(Model):
    format_version: int = FORMAT_VERSION
    backup_id: str
    created_at: datetime
    tool_version: str
    database: str
    system_identifier: str | None = Field(None, description="the source cluster's pg_control_system() "
                                          "identifier; backup-verify compares it with the configured server")
    server_version: str
    server_version_num: int
    database_size_bytes: int
    snapshot: str
    wal_lsn: str | None = Field(None, description="pg_current_wal_insert_lsn() read right after the snapshot "
                                "(every commit it sees lies before it): a point-in-time restore to it must "
                                "equal the tables; None on a standby and in older manifests")
    xact_snapshot: str | None = Field(None, description="pg_current_snapshot() of the backup ('xmin:xmax:xip'): "
                                      "tells a commit that raced the LSN read from damage (PostgreSQL 13+)")
    dump_format: str = Field(description="e.g. 'custom+zstd': pg_dump -Fc -Z0 piped through zstd")
    pg_dump_version: str
    emergency: bool = False
    duration_seconds: float
    artifacts: list[Artifact]
    tables: dict[str, TableFacts]
    objects: SchemaFacts | None = Field(None, description="format 2+: sequences, indexes, constraints, views, "
                                        "functions, extensions (absent in older manifests)")

    @property
    def size_bytes(self) -> int:
        return sum(a.size for a in self.artifacts)

    def to_bytes(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True).encode()


def parse(raw: bytes, where: str) -> Manifest:
    try:
        return Manifest.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ManifestError(f"{where}: invalid manifest ({first})") from None
    except RecursionError:  # a hostile manifest must be "unreadable" (kept, reported), not a crash
        raise ManifestError(f"{where}: invalid manifest (nested too deeply)") from None


class RestoreMark(Model):
    """Left beside a backup after a passed restore test (retention keeps the newest such backup)."""

    backup_id: str
    tested_at: datetime
    restore_seconds: float
    run_id: str | None = None
