-- Run history. Portable SQL: the same schema serves SQLite (default) and PostgreSQL (fleet).
-- Times are ISO-8601 UTC text with microseconds, so they sort as text in both.
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    group_name TEXT NOT NULL,
    trigger TEXT NOT NULL,
    slot TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    duration_seconds DOUBLE PRECISION,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    dry_run INTEGER NOT NULL,
    log_path TEXT,
    procedures TEXT NOT NULL,
    note TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_group_slot ON runs (group_name, slot);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL REFERENCES runs (id),
    procedure_id TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_seconds DOUBLE PRECISION NOT NULL,
    details TEXT NOT NULL,
    artifacts TEXT NOT NULL,
    PRIMARY KEY (run_id, procedure_id)
);
CREATE INDEX IF NOT EXISTS results_procedure ON results (procedure_id, started_at);
CREATE TABLE IF NOT EXISTS figures (
    run_id TEXT NOT NULL,
    procedure_id TEXT NOT NULL,
    at TEXT NOT NULL,
    name TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS figures_name_at ON figures (name, at);
CREATE TABLE IF NOT EXISTS alerts (
    run_id TEXT NOT NULL,
    procedure_id TEXT NOT NULL,
    at TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    delivered INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT
);
-- Whether a run marked running is still alive: the runner's process (pid + its start time, so a
-- reused pid is not taken for it) and a heartbeat it refreshes (judges runs of other hosts).
CREATE TABLE IF NOT EXISTS run_liveness (
    run_id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_started DOUBLE PRECISION,
    heartbeat_at TEXT NOT NULL
);
