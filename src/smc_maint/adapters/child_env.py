"""The environment a child process gets: an explicit minimum, never the tool's own.

The tool's environment holds the database password, webhook URLs, the serve token and cloud
keys. A child (pg_dump, zstd, a PostgreSQL server running as another OS user, an audit tool)
would expose them in /proc/PID/environ to that user, so each child gets only what it needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

# What any program needs to run and print: where programs are, language and time zone.
BASE = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR")
# libfaketime's settings (scripts/time-matrix): the whole process tree must agree on "now", or a
# PostgreSQL server started with a minimal environment writes its now() at the real date. No secrets.
FAKETIME = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_RESET")
# What a network client run as ourselves may also need (caches, proxies, CA bundles); never secrets.
NETWORK_TOOL = ("HOME", "USER", "XDG_CACHE_HOME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy",
                "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def minimal_env(extra: Mapping[str, str] | None = None, *, keep: Iterable[str] = (),
                environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``BASE`` (plus ``keep``) copied from ``environ``, then ``extra``; nothing else."""
    source = os.environ if environ is None else environ
    env = {name: source[name] for name in (*BASE, *FAKETIME, *keep) if name in source}
    env.setdefault("PATH", DEFAULT_PATH)
    env.update(extra or {})
    return env
