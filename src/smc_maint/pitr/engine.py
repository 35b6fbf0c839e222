"""The one seam to pgBackRest: its configuration file, and its commands run as the database's OS user.

Never as root: root-owned files in the repository make ``archive-push`` fail silently while
``pg_wal`` grows (pgBackRest #1693, #852). Children get a minimal environment and a total
deadline; S3 keys live in a 0600 include file owned by the OS user (the server's
``archive_command`` needs them too), never in argv.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.engine import EngineConfig
from ..config.loader import LoadedConfig
from ..config.model import read_secret
from .sets import backup_sets, status_message

BINARY = "pgbackrest"
SECRETS_FILE = "conf.d/smc-maint-secrets.conf"


class EngineError(Exception):
    """pgBackRest could not be configured or a command failed; the message says why."""


@dataclass(frozen=True)
class Layout:
    """Where the engine's own files live, and the database it serves."""

    engine: EngineConfig
    config_dir: Path
    repo_path: str
    pg_data: Path
    pg_port: int
    pg_user: str

    @property
    def conf_file(self) -> Path:
        return self.config_dir / "pgbackrest.conf"

    @property
    def secrets_file(self) -> Path:
        return self.config_dir / SECRETS_FILE

    def work_dir(self, name: str) -> Path:
        return self.config_dir / name


def layout(cfg: LoadedConfig) -> Layout:
    """The engine's layout from smc-maint's configuration (EngineError when it is off or incomplete)."""
    engine = cfg.config.backup.engine
    if engine.kind == "none":
        raise EngineError("no physical backup engine configured (backup.engine.kind is none)")
    if engine.pg_data is None:
        raise EngineError("backup.engine.pg_data: the database server's data directory is required")
    config_dir = engine.config_dir or cfg.home / "pgbackrest"
    if engine.repo.kind == "local":
        repo = str(engine.repo.path or config_dir / "repo")
    else:
        repo = str(engine.repo.path or "/pgbackrest")
    db = cfg.config.database
    return Layout(engine, config_dir, repo, engine.pg_data, db.port, db.user)


def render_conf(lay: Layout) -> str:
    """pgbackrest.conf, without secrets. Pure."""
    e = lay.engine
    lines = ["# written by smc-maint (backup.engine); edits are overwritten", "[global]",
             f"repo1-path={lay.repo_path}", f"repo1-retention-full={e.retention_full}",
             f"repo1-retention-diff={e.retention_diff}", f"compress-type={e.compress_type}",
             f"process-max={e.process_max}", "start-fast=y", "archive-async=n", "log-level-console=info",
             "log-level-file=off", f"lock-path={lay.work_dir('lock')}", f"spool-path={lay.work_dir('spool')}"]
    if e.repo.kind == "s3":
        s3 = e.repo.s3
        lines += ["repo1-type=s3", f"repo1-s3-bucket={s3.bucket}", f"repo1-s3-endpoint={s3.endpoint}",
                  f"repo1-storage-port={s3.port}", f"repo1-s3-region={s3.region}",
                  f"repo1-s3-uri-style={s3.uri_style}", f"repo1-storage-verify-tls={'y' if s3.verify_tls else 'n'}"]
        if s3.ca_file is not None:
            lines.append(f"repo1-storage-ca-file={s3.ca_file}")
    lines += ["", f"[{e.stanza}]", f"pg1-path={lay.pg_data}", f"pg1-port={lay.pg_port}",
              f"pg1-socket-path={e.socket_path}", f"pg1-user={lay.pg_user}", ""]
    return "\n".join(lines)


def archive_command(lay: Layout) -> str:
    """The server's ``archive_command`` for this engine."""
    return f"{BINARY} --config-path={lay.config_dir} --stanza={lay.engine.stanza} archive-push %p"


def _s3_secrets(lay: Layout) -> tuple[str, str] | None:
    if lay.engine.repo.kind != "s3":
        return None
    s3 = lay.engine.repo.s3
    key, secret = read_secret(s3.access_key_id_env, None), read_secret(s3.secret_access_key_env, None)
    if not key or not secret:
        raise EngineError(f"backup.engine.repo.s3: set {s3.access_key_id_env} and {s3.secret_access_key_env}")
    return key, secret


def os_user(lay: Layout) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(lay.engine.os_user)
    except KeyError:
        raise EngineError(f"backup.engine.os_user: no OS user {lay.engine.os_user!r}") from None


def _write_owned(path: Path, text: str, user: pwd.struct_passwd, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    if os.geteuid() == 0:
        os.chown(tmp, user.pw_uid, user.pw_gid)
    os.replace(tmp, path)


def _own_dir(path: Path, user: pwd.struct_passwd, mode: int = 0o700) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    if os.geteuid() == 0:
        os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(path, mode)


def write_config(lay: Layout) -> None:
    """Write pgbackrest.conf (0640) and the S3 secrets include (0600), owned by the OS user, and the
    engine's lock/spool directories (and a local repository) owned by it too."""
    user = os_user(lay)
    _own_dir(lay.config_dir, user, 0o750)
    _own_dir(lay.config_dir / "conf.d", user, 0o700)
    for name in ("lock", "spool"):
        _own_dir(lay.work_dir(name), user)
    if lay.engine.repo.kind == "local":
        _own_dir(Path(lay.repo_path), user, 0o750)
    _write_owned(lay.conf_file, render_conf(lay), user, 0o640)
    secrets = _s3_secrets(lay)
    if secrets is not None:
        _write_owned(lay.secrets_file, f"[global]\nrepo1-s3-key={secrets[0]}\nrepo1-s3-key-secret={secrets[1]}\n",
                     user, 0o600)
    else:
        with contextlib.suppress(FileNotFoundError):
            lay.secrets_file.unlink()


def config_problems(lay: Layout, *, scan_limit: int = 20000) -> list[str]:
    """What is wrong with the engine's files on disk: content drifted from smc-maint's configuration,
    wrong owner or mode, files in a local repository the OS user does not own."""
    user = os_user(lay)
    problems: list[str] = []
    try:
        st = lay.conf_file.stat()
        if lay.conf_file.read_text() != render_conf(lay):
            problems.append(f"{lay.conf_file} differs from backup.engine (edited by hand?)")
        if st.st_uid != user.pw_uid:
            problems.append(f"{lay.conf_file} is not owned by {user.pw_name}")
        if st.st_mode & 0o007:
            problems.append(f"{lay.conf_file} is readable by others")
    except OSError as exc:
        problems.append(f"cannot read {lay.conf_file}: {exc.strerror}")
    if lay.engine.repo.kind == "s3":
        with contextlib.suppress(FileNotFoundError):
            st = lay.secrets_file.stat()
            if st.st_mode & 0o077:
                problems.append(f"{lay.secrets_file} (S3 keys) must be 0600")
    if lay.engine.repo.kind == "local":
        problems += _repo_ownership(Path(lay.repo_path), user, scan_limit)
    return problems


def _repo_ownership(repo: Path, user: pwd.struct_passwd, limit: int) -> list[str]:
    if not repo.is_dir():
        return [f"local repository {repo} does not exist"]
    seen = 0
    for root, dirs, files in os.walk(repo):
        for name in [*dirs, *files]:
            seen += 1
            path = Path(root) / name
            with contextlib.suppress(OSError):
                st = path.lstat()
                if st.st_uid != user.pw_uid:
                    owner = _owner(st.st_uid)
                    return [f"{path} in the repository is owned by {owner}, not {user.pw_name}: "
                            f"archive-push fails on it (chown -R {user.pw_name} {repo})"]
            if seen >= limit:
                return []
    st = repo.stat()
    if st.st_uid != user.pw_uid:
        return [f"local repository {repo} is owned by {_owner(st.st_uid)}, not {user.pw_name}"]
    return []


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def command(lay: Layout, *args: str) -> list[str]:
    """argv for one engine command, as the OS user (runuser when we are root). No secrets in it."""
    base = [BINARY, f"--config-path={lay.config_dir}", f"--stanza={lay.engine.stanza}", *args]
    if os.geteuid() == 0:
        return ["runuser", "-u", lay.engine.os_user, "--", *base]
    if pwd.getpwuid(os.geteuid()).pw_name != lay.engine.os_user:
        raise EngineError(f"pgBackRest must run as {lay.engine.os_user!r} (backup.engine.os_user): "
                          f"run smc-maint as root or as that user")
    return base


def child_env() -> dict[str, str]:
    """A minimal environment: no secrets, no PG* variables."""
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}


def run(lay: Layout, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run one engine command with a total deadline; the whole process group dies at the deadline."""
    argv = command(lay, *args)
    limit = timeout if timeout is not None else lay.engine.timeout_seconds
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
                                cwd="/", start_new_session=True)
    except OSError as exc:
        raise EngineError(f"cannot run {BINARY}: {exc.strerror} (install pgbackrest)") from None
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise EngineError(f"pgbackrest {args[-1]} did not finish within {limit:g} s") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def check_ok(proc: subprocess.CompletedProcess[str], what: str) -> str:
    """stdout of a successful command, else EngineError with pgBackRest's own ERROR line."""
    if proc.returncode == 0:
        return proc.stdout
    text = (proc.stderr + "\n" + proc.stdout).strip()
    errors = [line.strip() for line in text.splitlines() if "ERROR" in line]
    reason = errors[0] if errors else text[-400:]
    raise EngineError(f"pgbackrest {what} failed (exit {proc.returncode}): {reason}")


def info(lay: Layout) -> dict[str, Any]:
    """``pgbackrest info --output=json`` for our stanza ({} when the stanza is unknown)."""
    out = check_ok(run(lay, "--output=json", "info", timeout=120), "info")
    try:
        data = json.loads(out or "[]")
        if not isinstance(data, list):
            raise ValueError(f"a list of stanzas expected, not {type(data).__name__}")
        for stanza in data:
            if isinstance(stanza, dict) and stanza.get("name") == lay.engine.stanza:
                found = dict(stanza)
                backup_sets(found)  # parsed once here: a bad shape is an EngineError, not a traceback later
                status_message(found)
                return found
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EngineError(f"pgBackRest info output not understood ({type(exc).__name__}: {str(exc)[:200]})") from None
    return {}
