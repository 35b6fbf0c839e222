"""Start and stop a private PostgreSQL server from a set of server binaries.

Used for the demo database, for scratch restore targets and by the test suite. As root the
server runs as an unprivileged system user (PostgreSQL refuses root); it listens on 127.0.0.1
only (TCP, no Unix socket).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..adapters.child_env import minimal_env

SYSTEM_GLOB = "/usr/lib/postgresql/*/bin"
RUN_USER_FALLBACK = "smc-maint"


class EmbeddedError(Exception):
    """The embedded server could not be set up or started; the message says why."""


@dataclass(frozen=True)
class Binaries:
    """A PostgreSQL installation: where ``initdb``, ``pg_ctl``, ``pg_dump`` etc. live."""

    bin_dir: Path
    major: int
    source: Literal["system", "pgserver", "path"]

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)

    @property
    def has_pg_stat_statements(self) -> bool:
        share = subprocess.run([self.tool("pg_config"), "--sharedir"], capture_output=True, text=True,
                               check=False, env=minimal_env(), timeout=30).stdout.strip()
        return bool(share) and (Path(share) / "extension" / "pg_stat_statements.control").is_file()


def tool_version(program: Path | str) -> tuple[int, str]:
    """Major version and ``--version`` line of a PostgreSQL program (the one parser for all callers)."""
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, text=True, check=False,
                             env=minimal_env(), timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EmbeddedError(f"cannot run {program}: {exc}") from None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if not match:
        raise EmbeddedError(f"cannot read the version of {program}: {out!r}")
    return int(match.group(1)), out


def server_major(bin_dir: Path) -> int:
    """Major version of the server in ``bin_dir``."""
    return tool_version(bin_dir / "postgres")[0]


def system_binaries() -> Binaries | None:
    """The newest Debian-style ``/usr/lib/postgresql/N/bin`` with a server in it."""
    candidates = sorted(Path("/").glob(SYSTEM_GLOB.lstrip("/")),
                        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    for bin_dir in reversed(candidates):
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return Binaries(bin_dir, server_major(bin_dir), "system")
    return None


def pgserver_binaries() -> Binaries | None:
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except Exception:
        return None
    bin_dir = Path(POSTGRES_BIN_PATH)
    if not (bin_dir / "initdb").is_file():
        return None
    return Binaries(bin_dir, server_major(bin_dir), "pgserver")


def find_binaries(kind: Literal["auto", "system", "pgserver"] = "auto") -> Binaries:
    """``auto`` prefers the machine's PostgreSQL (it has contrib), else pgserver's bundled one."""
    found = None
    if kind in ("auto", "system"):
        found = system_binaries()
    if found is None and kind in ("auto", "pgserver"):
        found = pgserver_binaries()
    if found is None:
        raise EmbeddedError(f"no PostgreSQL server binaries found ({kind}): install postgresql or pgserver")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _run_user() -> pwd.struct_passwd | None:
    """The unprivileged user the server runs as when we are root (None when we are not)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", RUN_USER_FALLBACK):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    RUN_USER_FALLBACK], check=True, capture_output=True, env=minimal_env(), timeout=60)
    return pwd.getpwnam(RUN_USER_FALLBACK)


def _ensure_traversable(path: Path, user: pwd.struct_passwd) -> None:
    """Fail clearly if ``user`` cannot reach ``path`` (e.g. a data dir under /root).

    Our own state directories are 0700 (the CLI's umask is 077); those get the traverse bit only
    (o+x: no listing, and every file in them is 0600), so the server user can reach its data
    directory. Login home directories such as /root are never opened up.
    """
    homes = {Path(p.pw_dir) for p in pwd.getpwall()}
    for parent in reversed(path.parents):
        st = parent.stat()
        if st.st_uid == user.pw_uid:
            continue
        if not st.st_mode & 0o001 and not (st.st_gid == user.pw_gid and st.st_mode & 0o010):
            if st.st_uid == os.geteuid() and parent != Path("/") and parent not in homes:
                os.chmod(parent, stat.S_IMODE(st.st_mode) | 0o001)
                continue
            raise EmbeddedError(
                f"the PostgreSQL server user {user.pw_name!r} cannot traverse {parent}; "
                f"choose a data directory it can reach (set SMC_MAINT_HOME)"
            )


class EmbeddedPostgres:
    """A private server in ``data_dir`` on ``127.0.0.1:port``; idempotent init/start/stop."""

    def __init__(self, data_dir: Path, port: int, binaries: Binaries, *,
                 settings: Mapping[str, str] | None = None, superuser: str = "postgres") -> None:
        self.data_dir = data_dir
        self.port = port
        self.binaries = binaries
        self.settings = dict(settings or {})
        self.superuser = superuser
        self.host = "127.0.0.1"
        self._user = _run_user()

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        # The server runs as another OS user: it must not inherit our secrets (readable in its
        # /proc/PID/environ by that user), only what it needs to run.
        env = minimal_env({"LC_ALL": "C.UTF-8"})
        proc: subprocess.CompletedProcess[str] = subprocess.run(  # type: ignore[call-overload]
            args, capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd="/", **kwargs)
        return proc

    def _chown(self, path: Path) -> None:
        if self._user is not None:
            os.chown(path, self._user.pw_uid, self._user.pw_gid)

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def init(self, password: str) -> None:
        """initdb with scram passwords on TCP and trust on the private socket."""
        if self.initialized:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.chmod(0o700)
        self._chown(self.data_dir)
        if self._user is not None:
            _ensure_traversable(self.data_dir, self._user)
        fd, pwfile = tempfile.mkstemp(prefix="initdb-pw-", dir=self.data_dir.parent)  # beside it, not /tmp
        try:
            os.write(fd, (password + "\n").encode())
            os.close(fd)
            self._chown(Path(pwfile))
            proc = self._run([self.binaries.tool("initdb"), "-D", str(self.data_dir), "-U", self.superuser,
                              "--pwfile", pwfile, "--auth-host=scram-sha-256", "--auth-local=trust",
                              "-E", "UTF8", "--locale=C.UTF-8"])
        finally:
            with contextlib.suppress(OSError):
                os.unlink(pwfile)
        if proc.returncode != 0:
            raise EmbeddedError(f"initdb failed: {proc.stderr.strip()[-800:]}")

    def is_running(self) -> bool:
        if not self.initialized:
            return False
        return self._run([self.binaries.tool("pg_ctl"), "-D", str(self.data_dir), "status"]).returncode == 0

    def start(self, timeout: float = 60) -> None:
        if self.is_running():
            return
        # TCP on 127.0.0.1 only: no Unix socket, whose path (data dir + name) must fit in 107 bytes
        # and breaks for deep work directories; every client here connects over TCP.
        opts = [f"-p {self.port}", f"-c listen_addresses={self.host}", "-c unix_socket_directories=''"]
        opts += [f"-c {k}={v}" for k, v in self.settings.items()]
        self.log_file.touch()
        self._chown(self.log_file)
        proc = self._run([self.binaries.tool("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                          "-w", "-t", str(int(timeout)), "-o", " ".join(opts), "start"],
                         timeout=timeout + 10)
        if proc.returncode != 0:
            tail = self.log_file.read_text(errors="replace")[-1500:] if self.log_file.exists() else ""
            raise EmbeddedError(f"PostgreSQL did not start on port {self.port}: {proc.stderr.strip()}\n{tail}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=1):
                return
            time.sleep(0.1)
        raise EmbeddedError(f"PostgreSQL started but does not accept connections on {self.host}:{self.port}")

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> None:
        if self.is_running():
            self._run([self.binaries.tool("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"])

    def destroy(self) -> None:
        """Stop the server and delete its data directory (scratch servers only)."""
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)


def archiving_settings(archive_command: str, *, archive_timeout_seconds: int = 60,
                       socket_dir: Path | None = None) -> dict[str, str]:
    """Server options for continuous WAL archiving (a physical backup engine's ``archive_command``);
    ``socket_dir`` opens a Unix socket there (pgBackRest connects through one)."""
    quoted = "'" + archive_command.replace("'", "''") + "'"
    settings = {"wal_level": "replica", "archive_mode": "on", "archive_command": quoted,
                "archive_timeout": str(archive_timeout_seconds)}
    if socket_dir is not None:
        settings["unix_socket_directories"] = f"'{socket_dir}'"
    return settings


@contextlib.contextmanager
def scratch_server(parent: Path, binaries: Binaries, password: str,
                   settings: Mapping[str, str] | None = None) -> Iterator[EmbeddedPostgres]:
    """A throwaway server on a free port, removed on exit (also on error or Ctrl-C)."""
    parent.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="scratch-pg-", dir=parent))
    os.chmod(data_dir, 0o711)  # noqa: S103 - the server user must traverse it; data/ inside is 0700
    server = EmbeddedPostgres(data_dir / "data", free_port(), binaries, settings={"fsync": "off", **(settings or {})})
    try:
        server.init(password)
        server.start()
        yield server
    finally:
        server.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)
