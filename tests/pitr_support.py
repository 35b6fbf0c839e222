"""An archiving PostgreSQL of the test's own, wired to a real pgBackRest (local repo or S3 via moto
behind nginx TLS: pgBackRest's S3 driver speaks HTTPS only and matches DNS names, so 'localhost')."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from smc_maint.config.loader import LoadedConfig, load_config
from smc_maint.embedded import demo_data
from smc_maint.embedded.postgres import EmbeddedPostgres, archiving_settings, find_binaries, free_port
from smc_maint.pitr import engine

from .conftest import DB_PASSWORD, need

S3_KEY_ID = "AKIDPITRTEST0001"
S3_SECRET = "pitr-s3-secret-" + "5b7e2a"


def os_user() -> str:
    return "postgres" if os.geteuid() == 0 else getpass.getuser()


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, os_user(), os_user())


@dataclass
class ArchivingDb:
    cfg: LoadedConfig
    server: EmbeddedPostgres
    root: Path

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(host="127.0.0.1", port=self.server.port, user="postgres", password=DB_PASSWORD,
                               dbname="smc_trading", autocommit=True, connect_timeout=10)

    def insert_trades(self, n: int) -> None:
        with self.connect() as conn:
            conn.execute("INSERT INTO trades (user_id, symbol, side, order_type, quantity, price, status) "
                         "SELECT (SELECT id FROM users ORDER BY id LIMIT 1), 'BTCUSDT', 'buy', 'market', 1, 100, "
                         "'filled' FROM generate_series(1, %s)", (n,))

    def trades(self) -> int:
        with self.connect() as conn:
            row = conn.execute("SELECT count(*) FROM trades").fetchone()
            assert row is not None
            return int(row[0])


@dataclass
class TlsS3:
    engine_repo: dict[str, Any]
    client: Any


def nginx_tls_s3(root: Path) -> Iterator[TlsS3]:
    """moto's S3 server on plain HTTP with nginx terminating TLS in front (a trustme CA)."""
    import boto3
    import httpx
    import trustme
    from moto.server import ThreadedMotoServer

    need(shutil.which("nginx") is not None, "nginx")
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    httpx.post(f"http://{host}:{port}/moto-api/reset", timeout=10)
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    ngx = root / "nginx"
    ngx.mkdir(mode=0o755)
    ca_file, cert_file, key_file = ngx / "ca.pem", ngx / "cert.pem", ngx / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ca_file.chmod(0o644)
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    tls_port = free_port()
    (ngx / "nginx.conf").write_text(f"""daemon off; worker_processes 1; pid {ngx}/nginx.pid;
error_log {ngx}/error.log;
events {{ worker_connections 64; }}
http {{ access_log off; client_max_body_size 0; client_body_temp_path {ngx}/body; proxy_temp_path {ngx}/proxy;
  fastcgi_temp_path {ngx}/fcgi; uwsgi_temp_path {ngx}/uwsgi; scgi_temp_path {ngx}/scgi;
  server {{ listen 127.0.0.1:{tls_port} ssl; ssl_certificate {cert_file}; ssl_certificate_key {key_file};
    location / {{ proxy_pass http://{host}:{port}; proxy_http_version 1.1; proxy_set_header Host $http_host;
      proxy_request_buffering off; proxy_buffering off; }} }} }}
""")
    proc = subprocess.Popen(["nginx", "-c", str(ngx / "nginx.conf"), "-p", str(ngx)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = boto3.client("s3", endpoint_url=f"https://localhost:{tls_port}", region_name="us-east-1",
                              aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET, verify=str(ca_file))
        deadline = time.monotonic() + 20
        while True:
            try:
                client.create_bucket(Bucket="smc-wal")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield TlsS3({"kind": "s3", "path": "/pgbackrest",
                     "s3": {"bucket": "smc-wal", "endpoint": "localhost", "port": tls_port, "uri_style": "path",
                            "ca_file": str(ca_file), "access_key_id_env": "SMC_TEST_PITR_KEY",
                            "secret_access_key_env": "SMC_TEST_PITR_SECRET"}}, client)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        moto.stop()


def start_archiving_db(base_dir: Path, repo: dict[str, Any] | None = None) -> Iterator[ArchivingDb]:
    """A private server with archive_mode=on and pgBackRest's archive_command, and a small trading db."""
    need(shutil.which("pgbackrest") is not None, "pgbackrest (scripts/install-system-deps)")
    root = Path(tempfile.mkdtemp(prefix="pitr-", dir=base_dir))
    root.chmod(0o755)
    sock = root / "sock"
    sock.mkdir()
    _own(sock)
    home = root / "home"
    home.mkdir(mode=0o755)
    port = free_port()
    data: dict[str, Any] = {
        "home": str(home),
        "database": {"host": "127.0.0.1", "port": port, "dbname": "smc_trading", "user": "postgres",
                     "password_env": "SMC_MAINT_DATABASE_PASSWORD"},
        "backup": {"work_dir": str(root / "work"),
                   "engine": {"kind": "pgbackrest", "stanza": "smc", "pg_data": str(root / "data"),
                              "socket_path": str(sock), "os_user": os_user(), "config_dir": str(root / "pgbackrest"),
                              "repo": repo or {"kind": "local"}, "process_max": 1, "rpo_target_seconds": 300}},
        "alerts": {"backoff_seconds": 0.01},
        "procedures": {"backup-verify": {"emergency_backup": False}},
    }
    (root / "smc-maint.yaml").write_text(yaml.safe_dump(data))
    cfg = load_config(root / "smc-maint.yaml")
    lay = engine.layout(cfg)
    engine.write_config(lay)
    binaries = find_binaries("system")
    server = EmbeddedPostgres(root / "data", port, binaries, settings={
        "fsync": "off", **archiving_settings(engine.archive_command(lay), archive_timeout_seconds=5,
                                             socket_dir=sock)})
    server.init(DB_PASSWORD)
    server.start()
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=DB_PASSWORD, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE smc_trading")
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=DB_PASSWORD,
                             dbname="smc_trading", autocommit=True) as conn:
            demo_data.create_schema(conn)
            demo_data.populate(conn, days=5, trades_per_day=20, users=3)
        yield ArchivingDb(cfg, server, root)
    finally:
        server.destroy()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def archiving_db(base_dir: Path, db_password_env: str) -> Iterator[ArchivingDb]:
    yield from start_archiving_db(base_dir)


@pytest.fixture
def archiving_db_s3(base_dir: Path, db_password_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[ArchivingDb, TlsS3]]:
    monkeypatch.setenv("SMC_TEST_PITR_KEY", S3_KEY_ID)
    monkeypatch.setenv("SMC_TEST_PITR_SECRET", S3_SECRET)
    s3_root = Path(tempfile.mkdtemp(prefix="pitr-s3-", dir=base_dir))
    s3_root.chmod(0o755)  # the OS user reads the CA file
    try:
        for s3 in nginx_tls_s3(s3_root):
            for db in start_archiving_db(base_dir, s3.engine_repo):
                yield db, s3
    finally:
        shutil.rmtree(s3_root, ignore_errors=True)


Factory = Callable[..., ArchivingDb]
