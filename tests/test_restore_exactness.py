""""Restored exactly" covers every object class a restore must bring back (issue 11, item 4).

A real backup of the suite's PostgreSQL, a real restore into a throwaway scratch server; the
fault is planted in the restored scratch database (the hook runs before verification), and the
restore test must fail naming the object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import pytest

from smc_maint.adapters import postgres
from smc_maint.backups.create import create_backup
from smc_maint.backups.manifest import MANIFEST
from smc_maint.backups.restore_test import RestoreTestSettings, run_restore_test
from smc_maint.config.loader import LoadedConfig
from smc_maint.config.model import DatabaseConfig
from smc_maint.procedures import restore_test
from smc_maint.result import Status
from smc_maint.stores.factory import open_store

from .backup_support import backup_config
from .conftest import PgServer

__all__ = ["backup_config"]

EXTRA_OBJECTS = """
CREATE VIEW recent_trades AS SELECT id, symbol FROM trades WHERE "timestamp" > now() - interval '1 day';
CREATE FUNCTION fee(q numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT q * 0.001';
CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA a;
CREATE TABLE a.b (n int);
INSERT INTO a.b VALUES (1), (2);
CREATE TABLE public."a.b" (n int);
INSERT INTO public."a.b" VALUES (3);
INSERT INTO audit_logs (actor, action) SELECT 'test', 'x' FROM generate_series(1, 5);
"""

FAULTS: dict[str, tuple[str, str]] = {
    "sequence": ("SELECT setval('audit_logs_id_seq', 1)", "sequence public.audit_logs_id_seq"),
    "index": ("DROP INDEX trades_symbol_idx", "index public.trades_symbol_idx"),
    "constraint": ("ALTER TABLE trades DROP CONSTRAINT trades_side_check", "constraint public.trades.trades_side_check"),
    "view": ("DROP VIEW recent_trades", "view public.recent_trades"),
    "function": ("CREATE OR REPLACE FUNCTION fee(q numeric) RETURNS numeric LANGUAGE sql IMMUTABLE "
                 "AS 'SELECT q * 0.002'", "function public.fee(q numeric)"),
    "extension": ("DROP EXTENSION citext", "extension citext"),
}


def _prepare(pg: PgServer, trading_db: str) -> None:
    with pg.connect(trading_db) as conn:
        conn.execute(EXTRA_OBJECTS)


def _audit_columns_ok(pg: PgServer, trading_db: str) -> None:
    with pg.connect(trading_db) as conn:
        cols = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_name = 'audit_logs'").fetchall()}
    assert {"actor", "action"} <= cols, cols


def _plant(statement: str) -> Callable[[DatabaseConfig], None]:
    def hook(db: DatabaseConfig) -> None:
        with postgres.connect(db, autocommit=True) as conn:
            conn.execute(statement)
    return hook


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_planted_fault_of_each_class_fails_the_restore_test(
        fault: str, backup_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    _audit_columns_ok(pg, trading_db)
    _prepare(pg, trading_db)
    cfg = backup_config()
    store = open_store(cfg)
    manifest = create_backup(cfg, store)
    assert manifest.objects is not None
    statement, named = FAULTS[fault]
    report = run_restore_test(cfg, store, RestoreTestSettings(), now=datetime.now(UTC), before_verify=_plant(statement))
    result = restore_test.judge(report)
    assert result.status is Status.CRITICAL, result.summary
    assert named in result.summary, result.summary
    assert [d for d in result.details["differences"] if not d.startswith(named)] == [], result.details["differences"]


def test_a_clean_restore_checks_every_class_and_keys_tables_unambiguously(
        backup_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    _prepare(pg, trading_db)
    cfg = backup_config()
    store = open_store(cfg)
    manifest = create_backup(cfg, store)
    assert manifest.tables["a.b"].rows == 2 and manifest.tables['"a.b"'].rows == 1  # two tables, two keys
    objects = manifest.objects
    assert objects is not None
    assert objects.sequences["public.audit_logs_id_seq"].last_value >= 5
    assert "public.trades_symbol_idx" in objects.indexes and "public.recent_trades" in objects.views
    assert "public.fee(q numeric)" in objects.functions and objects.extensions["citext"]
    assert "public.trades.trades_side_check" in objects.constraints
    result = restore_test.judge(run_restore_test(cfg, store, RestoreTestSettings(), now=datetime.now(UTC)))
    assert result.status is Status.OK, result.summary
    assert "every sequence, index, constraint, view, function and extension" in result.summary
    assert result.details["objects"]["sequences"] >= 1


def test_an_old_manifest_still_verifies_and_says_what_was_not_checked(
        backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    store = open_store(cfg)
    manifest = create_backup(cfg, store)
    path = cfg.store_path / manifest.backup_id / MANIFEST
    data = json.loads(path.read_text())
    data["format_version"] = 1
    del data["objects"]
    path.write_text(json.dumps(data))
    result = restore_test.judge(run_restore_test(cfg, store, RestoreTestSettings(), now=datetime.now(UTC)))
    assert result.status is Status.OK, result.summary
    assert "NOT checked" in result.summary and "format 1" in result.summary
    assert result.details["checks_unavailable"] == ["sequences", "indexes", "constraints", "views", "functions",
                                                    "extensions"]


def test_sequence_behind_is_judged_by_position_not_equality() -> None:
    from smc_maint.backups.manifest import SchemaFacts, SequenceFacts
    from smc_maint.backups.schema_facts import compare_objects

    want = SchemaFacts(server_major=15, sequences={"public.s": SequenceFacts(last_value=10, is_called=True)})
    ahead = SchemaFacts(server_major=15, sequences={"public.s": SequenceFacts(last_value=12, is_called=True)})
    behind = SchemaFacts(server_major=15, sequences={"public.s": SequenceFacts(last_value=10, is_called=False)})
    assert compare_objects(want, ahead) == []  # written to during the backup: pg_dump saw it later
    assert [d.what for d in compare_objects(want, behind)] == ["sequence public.s"]
    assert psycopg  # the real-server tests above use it through the fixtures
