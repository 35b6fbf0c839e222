"""A real pgbouncer (Debian package) in front of the test PostgreSQL, run as the unprivileged
``postgres`` user (pgbouncer refuses root) on a free port, session pooling with one server per pool."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from smc_maint.embedded.postgres import free_port

from .conftest import PgServer, need

PGBOUNCER = "/usr/sbin/pgbouncer"


@dataclass
class Bouncer:
    port: int
    admin_user: str
    admin_password: str
    db_password: str
    log: Path


@pytest.fixture
def bouncer(pg: PgServer, trading_db: str, base_dir: Path) -> Iterator[Bouncer]:
    need(Path(PGBOUNCER).is_file() or shutil.which("pgbouncer") is not None, "pgbouncer binary (apt pgbouncer)")
    exe = PGBOUNCER if Path(PGBOUNCER).is_file() else str(shutil.which("pgbouncer"))
    work = base_dir / f"pgbouncer-{secrets.token_hex(4)}"
    work.mkdir()
    work.chmod(0o755)
    port = free_port()
    admin_pw = "bouncer-" + secrets.token_hex(6)
    (work / "userlist.txt").write_text(f'"postgres" "{pg.password}"\n"smcadmin" "{admin_pw}"\n')
    (work / "pgbouncer.ini").write_text(f"""[databases]
{trading_db} = host=127.0.0.1 port={pg.port} dbname={trading_db}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {work}/userlist.txt
admin_users = smcadmin
pool_mode = session
default_pool_size = 1
max_client_conn = 50
logfile = {work}/pgbouncer.log
""")
    for f in work.iterdir():
        f.chmod(0o644)
    argv = [exe, str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(work, user.pw_uid, user.pw_gid)  # pgbouncer writes its log file here
        argv = ["runuser", "-u", "postgres", "--", *argv]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        with contextlib.closing(socket.socket()) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if proc.poll() is not None or time.monotonic() > deadline:
            err = proc.stderr.read().decode() if proc.stderr else ""
            proc.kill()
            pytest.fail(f"pgbouncer did not start: {err}")
        time.sleep(0.05)
    try:
        yield Bouncer(port, "smcadmin", admin_pw, pg.password, work / "pgbouncer.log")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
