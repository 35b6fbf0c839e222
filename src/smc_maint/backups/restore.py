"""Restore an archive into a target database and compare it exactly with the manifest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..adapters import postgres
from ..config.model import DatabaseConfig
from .manifest import Manifest, SchemaFacts, TableFacts
from .pipeline import pipeline, zstd_binary
from .schema_facts import compare_objects, schema_facts
from .table_facts import KeyFn, method_of, table_facts, table_name, user_tables


class RestoreError(Exception):
    """pg_restore (or decompression) failed; the message says which step and why."""


def _pg_restore(target: DatabaseConfig, bin_dir: Path | None) -> str:
    if bin_dir is not None:
        return str(Path(bin_dir) / "pg_restore")
    return postgres.tool(target, "pg_restore")


def restore_archive(manifest: Manifest, local: Path, target: DatabaseConfig, *, secret_dir: Path,
                    bin_dir: Path | None = None, jobs: int = 1, single_transaction: bool = False) -> None:
    """Load ``local`` (the backup's artifact) into ``target`` (an empty database).

    ``single_transaction`` streams the archive into one transaction: on a scratch server with
    ``wal_level=minimal`` the data then skips the WAL, which beats parallel jobs on few cores.
    """
    pg_restore = _pg_restore(target, bin_dir)
    base = [pg_restore, "--no-owner", "--no-acl", "--exit-on-error", "--no-password", "-d", target.dbname]
    if single_transaction:
        base.append("--single-transaction")
        jobs = 1
    zstd = manifest.dump_format.endswith("+zstd")
    if zstd and zstd_binary() is None:
        raise RestoreError("the backup is zstd-compressed but no zstd binary is on PATH")
    with postgres.libpq_env(target, secret_dir=secret_dir) as env:
        try:
            if zstd and jobs > 1:  # parallel pg_restore needs a seekable plain archive
                plain = local.with_suffix("")
                with pipeline([("zstd -d", [str(zstd_binary()), "-d", "-q", "-f", "-o", str(plain), str(local)])],
                              stdout=None) as pipe:
                    pipe.check()
                local.unlink()
                with pipeline([("pg_restore", [*base, f"--jobs={jobs}", str(plain)])], env=env,
                              stdout=None) as pipe:
                    pipe.check()
            elif zstd:
                with pipeline([("zstd -d", [str(zstd_binary()), "-d", "-q", "-c", str(local)]),
                               ("pg_restore", base)], env=env, stdout=None) as pipe:
                    pipe.check()
            else:
                with pipeline([("pg_restore", [*base, f"--jobs={max(1, jobs)}", str(local)])], env=env,
                              stdout=None) as pipe:
                    pipe.check()
        except Exception as exc:
            raise RestoreError(str(exc)) from None


def table_key_of(manifest: Manifest) -> KeyFn | None:
    """How ``manifest`` keys its tables: format 1 by the old ambiguous name, later by the default key."""
    return table_name if manifest.format_version < 2 else None


def restored_facts(target: DatabaseConfig, expected: Mapping[str, TableFacts], jobs: int = 2,
                   key: KeyFn | None = None) -> dict[str, TableFacts]:
    """Facts of every restored table, fingerprinted by the method the backup used for it."""
    def connect() -> Any:
        return postgres.connect(target, autocommit=True)

    with connect() as conn:
        tables = user_tables(conn)
    methods = {name: method_of(facts.fingerprint) for name, facts in expected.items()}
    return table_facts(connect, tables, jobs=jobs, methods=methods, key=key)


def restored_objects(target: DatabaseConfig) -> SchemaFacts:
    with postgres.connect(target, autocommit=True) as conn:
        return schema_facts(conn)


def compare_schema(expected: SchemaFacts, actual: SchemaFacts) -> list[Difference]:
    """Object differences (sequences, indexes, constraints, views, functions, extensions)."""
    return [Difference(d.what, d.problem) for d in compare_objects(expected, actual)]


@dataclass(frozen=True)
class Difference:
    table: str
    problem: str

    def __str__(self) -> str:
        return f"{self.table}: {self.problem}"


def compare(expected: Mapping[str, TableFacts], actual: Mapping[str, TableFacts],
            require_rows: tuple[str, ...] = ("trades", "users")) -> list[Difference]:
    """Every way the restored tables differ from the manifest, plus the runbook's non-empty checks."""
    out: list[Difference] = []
    for name in sorted(expected):
        want = expected[name]
        got = actual.get(name)
        if got is None:
            out.append(Difference(name, "missing after restore"))
        elif got.rows != want.rows:
            out.append(Difference(name, f"{got.rows} rows restored, {want.rows} backed up"))
        elif got.fingerprint != want.fingerprint:
            out.append(Difference(name, "content differs (fingerprint mismatch, same row count)"))
    for name in sorted(set(actual) - set(expected)):
        out.append(Difference(name, "restored but not in the manifest"))
    for name in require_rows:
        got = actual.get(name)
        if got is not None and got.rows == 0:
            out.append(Difference(name, "has no rows (runbook check: must be > 0)"))
        elif got is None and name not in expected:
            out.append(Difference(name, "does not exist (runbook check: must have rows)"))
    return out
