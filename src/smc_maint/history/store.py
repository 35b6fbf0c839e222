"""The history store: every run and every procedure result, queried by reports and metrics.

One class over DB-API connections; SQLite by default, PostgreSQL (psycopg) for a fleet. The SQL
is portable and written with ``?`` placeholders, translated for psycopg.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from ..adapters.clock import iso, parse_iso
from ..redact import redact, redact_obj
from .liveness import Liveness, is_dead

RUNNING = "running"
INTERRUPTED = "interrupted"
T = TypeVar("T")
SQLITE_BUSY_SECONDS = 30.0  # a history write waits at most this long for another writer
PG_CONNECT_SECONDS = 5
PG_STATEMENT_SECONDS = 30.0


class SlotTaken(Exception):
    """A run for this (group, slot) is already recorded: the slot must not run twice."""


@dataclass(frozen=True)
class RunRow:
    id: str
    group: str
    trigger: str
    slot: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    duration_seconds: float | None
    host: str
    pid: int
    dry_run: bool
    log_path: str | None
    procedures: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class ResultRow:
    run_id: str
    procedure_id: str
    status: str
    summary: str
    started_at: datetime
    duration_seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()


@dataclass(frozen=True)
class FigurePoint:
    at: datetime
    value: float
    run_id: str
    procedure_id: str


_RUN_COLS = (
    "id, group_name, trigger, slot, started_at, finished_at, status, duration_seconds, host, pid, "
    "dry_run, log_path, procedures, note"
)
_RESULT_COLS = "run_id, procedure_id, status, summary, started_at, duration_seconds, details, artifacts"


def _run(row: Sequence[Any]) -> RunRow:
    return RunRow(
        id=row[0],
        group=row[1],
        trigger=row[2],
        slot=row[3],
        started_at=parse_iso(row[4]),
        finished_at=parse_iso(row[5]) if row[5] else None,
        status=row[6],
        duration_seconds=row[7],
        host=row[8],
        pid=int(row[9]),
        dry_run=bool(row[10]),
        log_path=row[11],
        procedures=tuple(json.loads(row[12])),
        note=row[13],
    )


def _result(row: Sequence[Any]) -> ResultRow:
    return ResultRow(
        run_id=row[0],
        procedure_id=row[1],
        status=row[2],
        summary=row[3],
        started_at=parse_iso(row[4]),
        duration_seconds=float(row[5]),
        details=json.loads(row[6]),
        artifacts=tuple(json.loads(row[7])),
    )


class History:
    """Run history over any DB-API connection factory (``paramstyle`` 'qmark' or 'format')."""

    def __init__(self, connect: Callable[[], Any], paramstyle: str = "qmark", *, is_unique_error: Callable[
            [BaseException], bool] | None = None, init_schema: bool = True) -> None:
        self._connect = connect
        self._paramstyle = paramstyle
        self._is_unique_error = is_unique_error or (lambda e: isinstance(e, sqlite3.IntegrityError))
        # How a worker process reopens this store ({"sqlite": path} or {"postgresql": dsn env var}).
        self.locator: dict[str, str] = {}
        # The longest a run of these procedures may take (set from the config by open_history).
        self.longest: Callable[[Sequence[str]], float] | None = None
        if init_schema:  # a worker reopening its runner's store skips it (the runner made the schema)
            self._init_schema()

    # -- plumbing -------------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._paramstyle == "format" else sql

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Any]:
        conn = self._connect()
        try:
            cur = conn.cursor()
            yield cur
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._tx() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return list(cur.fetchall()) if cur.description else []

    def _init_schema(self) -> None:
        script = files("smc_maint.history").joinpath("schema.sql").read_text(encoding="utf-8")
        statements = [s.strip() for s in script.split(";") if s.strip()]
        with self._tx() as cur:
            if self._paramstyle == "format":
                # Two replicas starting on a fresh PostgreSQL would race in CREATE ... IF NOT EXISTS
                # (a unique violation in pg_type); serialise schema creation per database.
                cur.execute("SELECT pg_advisory_xact_lock(7419823550561)")
            for stmt in statements:
                body = "\n".join(line for line in stmt.splitlines() if not line.strip().startswith("--"))
                if body.strip():
                    cur.execute(body)

    # -- writing --------------------------------------------------------------------------------
    def begin_run(
        self,
        run_id: str,
        group: str,
        started_at: datetime,
        procedures: Sequence[str],
        *,
        trigger: str = "manual",
        slot: datetime | None = None,
        dry_run: bool = False,
        log_path: str | None = None,
        pid: int = 0,
        host: str | None = None,
    ) -> None:
        """Record a run as running. With ``slot``, raises :class:`SlotTaken` if it already ran."""
        try:
            self._exec(
                f"INSERT INTO runs ({_RUN_COLS}) VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?, ?, ?, NULL)",
                (
                    run_id, group, trigger, iso(slot) if slot else None, iso(started_at), RUNNING,
                    host or socket.gethostname(), pid, int(dry_run), log_path, json.dumps(list(procedures)),
                ),
            )
        except Exception as exc:
            if slot is not None and self._is_unique_error(exc):
                raise SlotTaken(f"{group} slot {iso(slot)} already ran") from None
            raise

    def finish_run(
        self, run_id: str, status: str, finished_at: datetime, duration_seconds: float, note: str | None = None
    ) -> None:
        self._exec(
            "UPDATE runs SET status = ?, finished_at = ?, duration_seconds = ?, note = ? WHERE id = ?",
            (status, iso(finished_at), duration_seconds, redact(note) if note else None, run_id),
        )

    def add_result(
        self,
        run_id: str,
        procedure_id: str,
        status: str,
        summary: str,
        started_at: datetime,
        duration_seconds: float,
        details: dict[str, Any],
        figures: dict[str, float],
        artifacts: Sequence[str] = (),
    ) -> None:
        """Store one procedure result (redacted) and its figures."""
        with self._tx() as cur:
            cur.execute(
                self._sql(f"INSERT INTO results ({_RESULT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                (
                    run_id, procedure_id, status, redact(summary), iso(started_at), duration_seconds,
                    json.dumps(redact_obj(details), default=str), json.dumps(list(artifacts)),
                ),
            )
            for name, value in figures.items():
                cur.execute(
                    self._sql("INSERT INTO figures (run_id, procedure_id, at, name, value) VALUES (?, ?, ?, ?, ?)"),
                    (run_id, procedure_id, iso(started_at), name, float(value)),
                )

    def add_alert(
        self, run_id: str, procedure_id: str, at: datetime, channel: str, status: str,
        delivered: bool, attempts: int, error: str | None,
    ) -> None:
        self._exec(
            "INSERT INTO alerts (run_id, procedure_id, at, channel, status, delivered, attempts, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, procedure_id, iso(at), channel, status, int(delivered), attempts,
             redact(error) if error else None),
        )

    def mark_interrupted(self, group: str, finished_at: datetime, *, exclude: str | None = None,
                         keep: Callable[[str, int, datetime], bool] | None = None) -> list[str]:
        """Close runs of ``group`` still marked running. Call only while holding the group lock.

        ``keep(host, pid, started_at)`` spares runs that may still be alive elsewhere (another
        replica writing to the same history store).
        """
        rows = self._exec("SELECT id, host, pid, started_at FROM runs WHERE group_name = ? AND status = ?",
                          (group, RUNNING))
        ids = [r[0] for r in rows
               if r[0] != exclude and not (keep and keep(r[1], int(r[2]), parse_iso(r[3])))]
        for run_id in ids:
            self._exec(
                "UPDATE runs SET status = ?, finished_at = ?, note = ? WHERE id = ?",
                (INTERRUPTED, iso(finished_at), "process ended before the run finished", run_id),
            )
        return ids

    # -- liveness (see liveness.py: one rule for every reader) ----------------------------------
    def record_liveness(self, run_id: str, host: str, pid: int, process_started: float | None,
                        at: datetime) -> None:
        self._exec("INSERT INTO run_liveness (run_id, host, pid, process_started, heartbeat_at) "
                   "VALUES (?, ?, ?, ?, ?)", (run_id, host, pid, process_started, iso(at)))

    def heartbeat(self, run_id: str, at: datetime) -> None:
        self._exec("UPDATE run_liveness SET heartbeat_at = ? WHERE run_id = ?", (iso(at), run_id))

    def sweep_dead(self, *, here: str | None = None, now: datetime | None = None) -> list[str]:
        """Mark interrupted every ``running`` run whose process is gone; the ids marked."""
        from datetime import UTC

        here = here or socket.gethostname()
        now = now or datetime.now(UTC)
        rows = self._exec(
            "SELECT u.id, u.host, u.pid, u.started_at, u.procedures, l.host, l.pid, l.process_started, "
            "l.heartbeat_at FROM runs u LEFT JOIN run_liveness l ON l.run_id = u.id WHERE u.status = ?",
            (RUNNING,))
        dead = []
        for r in rows:
            live = Liveness(r[5], int(r[6]), r[7], parse_iso(r[8])) if r[5] is not None else None
            longest = self.longest(json.loads(r[4])) if self.longest else None
            if is_dead(live, run_host=r[1], run_pid=int(r[2]), run_started=parse_iso(r[3]), here=here, now=now,
                       longest_seconds=longest):
                dead.append((r[0], live.host if live else r[1], live.pid if live else int(r[2])))
        for run_id, host, pid in dead:
            self._exec("UPDATE runs SET status = ?, finished_at = ?, note = ? WHERE id = ? AND status = ?",
                       (INTERRUPTED, iso(now), f"runner process {pid} on {host} ended before the run finished",
                        run_id, RUNNING))
        return [d[0] for d in dead]

    # -- reading --------------------------------------------------------------------------------
    def runs(self, *, limit: int = 20, group: str | None = None, since: datetime | None = None,
             until: datetime | None = None) -> list[RunRow]:
        self.sweep_dead()
        where, params = ["1 = 1"], []
        if group:
            where.append("group_name = ?")
            params.append(group)
        if since:
            where.append("started_at >= ?")
            params.append(iso(since))
        if until:
            where.append("started_at < ?")
            params.append(iso(until))
        rows = self._exec(
            f"SELECT {_RUN_COLS} FROM runs WHERE {' AND '.join(where)} ORDER BY started_at DESC LIMIT ?",
            (*params, limit),
        )
        return [_run(r) for r in rows]

    def first_started_at(self) -> datetime | None:
        """When this history recorded its first run (of any group): nothing was expected before."""
        rows = self._exec("SELECT min(started_at) FROM runs")
        return parse_iso(rows[0][0]) if rows and rows[0][0] else None

    def latest_slot(self, group: str) -> datetime | None:
        """The newest scheduled slot recorded for ``group`` (any outcome)."""
        rows = self._exec("SELECT max(slot) FROM runs WHERE group_name = ? AND slot IS NOT NULL", (group,))
        return parse_iso(rows[0][0]) if rows and rows[0][0] else None

    def run(self, run_id: str) -> RunRow | None:
        self.sweep_dead()
        rows = self._exec(f"SELECT {_RUN_COLS} FROM runs WHERE id = ?", (run_id,))
        return _run(rows[0]) if rows else None

    def results(self, run_id: str) -> list[ResultRow]:
        rows = self._exec(
            f"SELECT {_RESULT_COLS} FROM results WHERE run_id = ? ORDER BY started_at", (run_id,)
        )
        return [_result(r) for r in rows]

    def procedure_results(self, procedure_id: str, *, since: datetime | None = None,
                          limit: int = 1000) -> list[ResultRow]:
        """Results of one procedure, newest first (dry runs excluded)."""
        sql = (f"SELECT {', '.join('r.' + c.strip() for c in _RESULT_COLS.split(','))} FROM results r "
               "JOIN runs u ON u.id = r.run_id WHERE r.procedure_id = ? AND u.dry_run = 0")
        params: list[Any] = [procedure_id]
        if since:
            sql += " AND r.started_at >= ?"
            params.append(iso(since))
        rows = self._exec(sql + " ORDER BY r.started_at DESC LIMIT ?", (*params, limit))
        return [_result(r) for r in rows]

    def figure_series(self, name: str, *, since: datetime | None = None,
                      procedure_id: str | None = None) -> list[FigurePoint]:
        """All recorded values of figure ``name``, oldest first."""
        sql = "SELECT at, value, run_id, procedure_id FROM figures WHERE name = ?"
        params: list[Any] = [name]
        if since:
            sql += " AND at >= ?"
            params.append(iso(since))
        if procedure_id:
            sql += " AND procedure_id = ?"
            params.append(procedure_id)
        rows = self._exec(sql + " ORDER BY at", params)
        return [FigurePoint(parse_iso(r[0]), float(r[1]), r[2], r[3]) for r in rows]

    # -- reading for reports and metrics (dry runs excluded) -------------------------------------
    def results_between(self, since: datetime, until: datetime) -> list[ResultRow]:
        """Every result started in [since, until), oldest first."""
        cols = ", ".join("r." + c.strip() for c in _RESULT_COLS.split(","))
        rows = self._exec(
            f"SELECT {cols} FROM results r JOIN runs u ON u.id = r.run_id WHERE u.dry_run = 0 "
            "AND r.started_at >= ? AND r.started_at < ? ORDER BY r.started_at",
            (iso(since), iso(until)),
        )
        return [_result(r) for r in rows]

    def figures_between(self, since: datetime, until: datetime, *, prefix: str | None = None
                        ) -> dict[str, list[FigurePoint]]:
        """Figures recorded in [since, until) by name (optionally only names starting ``prefix``)."""
        sql = ("SELECT f.name, f.at, f.value, f.run_id, f.procedure_id FROM figures f JOIN runs u ON u.id = f.run_id "
               "WHERE u.dry_run = 0 AND f.at >= ? AND f.at < ?")
        params: list[Any] = [iso(since), iso(until)]
        if prefix:
            sql += " AND f.name LIKE ?"
            params.append(prefix.replace("%", "").replace("_", "\\_") + "%")
            sql += " ESCAPE '\\'"
        out: dict[str, list[FigurePoint]] = {}
        for r in self._exec(sql + " ORDER BY f.at", params):
            out.setdefault(r[0], []).append(FigurePoint(parse_iso(r[1]), float(r[2]), r[3], r[4]))
        return out

    def latest_figures(self) -> dict[str, FigurePoint]:
        """The newest recorded value of every figure name."""
        rows = self._exec(
            "SELECT f.name, f.at, f.value, f.run_id, f.procedure_id FROM figures f JOIN ("
            " SELECT f2.name AS name, max(f2.at) AS at FROM figures f2 JOIN runs u ON u.id = f2.run_id"
            " WHERE u.dry_run = 0 GROUP BY f2.name) m ON m.name = f.name AND m.at = f.at"
        )
        return {r[0]: FigurePoint(parse_iso(r[1]), float(r[2]), r[3], r[4]) for r in rows}

    def latest_results(self, *, statuses: Sequence[str] | None = None) -> dict[str, ResultRow]:
        """The newest result of every procedure (only with one of ``statuses`` when given)."""
        cols = ", ".join("r." + c.strip() for c in _RESULT_COLS.split(","))
        filt, params = "", []
        if statuses:
            filt = f" AND r2.status IN ({', '.join('?' for _ in statuses)})"
            params = list(statuses)
        rows = self._exec(
            f"SELECT {cols} FROM results r JOIN ("
            " SELECT r2.procedure_id AS pid, max(r2.started_at) AS at FROM results r2"
            f" JOIN runs u ON u.id = r2.run_id WHERE u.dry_run = 0{filt} GROUP BY r2.procedure_id"
            ") m ON m.pid = r.procedure_id AND m.at = r.started_at",
            params,
        )
        return {res.procedure_id: res for res in (_result(r) for r in rows)}

    def result_counts(self) -> list[tuple[str, str, int]]:
        """(procedure, status, how many results) over the whole history."""
        rows = self._exec(
            "SELECT r.procedure_id, r.status, count(*) FROM results r JOIN runs u ON u.id = r.run_id "
            "WHERE u.dry_run = 0 GROUP BY r.procedure_id, r.status"
        )
        return [(r[0], r[1], int(r[2])) for r in rows]

    def run_counts(self) -> list[tuple[str, str, int]]:
        """(group, status, how many runs) over the whole history."""
        self.sweep_dead()
        rows = self._exec("SELECT group_name, status, count(*) FROM runs WHERE dry_run = 0 "
                          "GROUP BY group_name, status")
        return [(r[0], r[1], int(r[2])) for r in rows]

    def latest_runs_by_group(self) -> dict[str, RunRow]:
        """The newest finished (non dry-run) run of every group."""
        self.sweep_dead()
        rows = self._exec(
            f"SELECT {', '.join('u.' + c.strip() for c in _RUN_COLS.split(','))} FROM runs u JOIN ("
            " SELECT group_name AS g, max(started_at) AS at FROM runs WHERE dry_run = 0 AND finished_at IS NOT NULL"
            " GROUP BY group_name) m ON m.g = u.group_name AND m.at = u.started_at"
        )
        return {run.group: run for run in (_run(r) for r in rows)}

    def recent_alerts(self, *, limit: int = 50, since: datetime | None = None) -> list[dict[str, Any]]:
        """Alerts newest first, with the run they belong to."""
        sql = "SELECT run_id, procedure_id, at, channel, status, delivered, attempts, error FROM alerts"
        params: list[Any] = []
        if since:
            sql += " WHERE at >= ?"
            params.append(iso(since))
        rows = self._exec(sql + " ORDER BY at DESC LIMIT ?", (*params, limit))
        keys = ("run_id", "procedure_id", "at", "channel", "status", "delivered", "attempts", "error")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def alerts(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._exec(
            "SELECT procedure_id, at, channel, status, delivered, attempts, error FROM alerts WHERE run_id = ?",
            (run_id,),
        )
        keys = ("procedure_id", "at", "channel", "status", "delivered", "attempts", "error")
        return [dict(zip(keys, r, strict=True)) for r in rows]


def _while_locked(step: Callable[[], T], seconds: float = SQLITE_BUSY_SECONDS) -> T:
    """``step``, retried with backoff while SQLite says the file is locked, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    delay = 0.01
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def open_sqlite(path: Path, *, init_schema: bool = True) -> History:
    """The SQLite history, owner-only (0600; SQLite gives -wal/-shm the same mode): it records hosts,
    query texts and failures that are nobody else's business, whatever the caller's umask."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        # Created once, never opened and closed behind SQLite's back again: closing any descriptor of
        # the file drops every POSIX lock this process holds on it, including another connection's.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    os.chmod(path, 0o600)

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=SQLITE_BUSY_SECONDS)
        conn.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
        return conn

    def to_wal() -> None:
        # WAL is a property of the file (it persists): set once here, not on every connection. Two
        # runs opening a fresh file at once race for the switch, and SQLite answers "database is
        # locked" at once, without its busy handler: retried within the same bound.
        with contextlib.closing(connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")

    if init_schema:  # a worker reopening its runner's store finds it made, in WAL already
        _while_locked(to_wal)
    hist = _while_locked(lambda: History(connect, "qmark", init_schema=init_schema))
    hist.locator = {"sqlite": str(path)}
    return hist


def open_postgres(dsn: str, *, dsn_env: str | None = None, init_schema: bool = True) -> History:
    """A PostgreSQL history; every connection bounded (connect and statement timeouts)."""
    import psycopg

    def connect() -> Any:
        return psycopg.connect(dsn, application_name="smc-maint-history", connect_timeout=PG_CONNECT_SECONDS,
                               options=f"-c statement_timeout={int(PG_STATEMENT_SECONDS * 1000)}")

    hist = History(connect, "format", is_unique_error=lambda e: isinstance(e, psycopg.errors.UniqueViolation),
                   init_schema=init_schema)
    if dsn_env:
        hist.locator = {"postgresql": dsn_env}
    return hist
