"""Secret redaction at every boundary: logs, history, reports, exceptions, output.

Secrets are registered when they are resolved from the environment or a file; every text that
leaves the process passes :func:`redact`. URL credentials and well-known token shapes are
masked even if nobody registered them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

# user:password@ in URLs, and whole webhook URLs of well-known services (the URL *is* the secret).
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/\s:@]+):(?P<pw>[^/\s@]+)@")
_WEBHOOK = re.compile(
    r"https?://(?:hooks\.slack\.com|discord(?:app)?\.com/api/webhooks|[^\s/]*webhook\.office\.com)/\S+"
)
_KEYVALUE = re.compile(r"(?i)\b(password|passwd|pwd|token|secret|api[_-]?key)=([^\s&'\"]+)")
# SQL text keeps literal secrets verbatim (pg_stat_statements, pg_stat_activity): ``ALTER ROLE ..
# [ENCRYPTED] PASSWORD '...'``, ``OPTIONS (password '...')`` of user mappings, ``pgp_sym_encrypt(x, '...')``.
_SQL_LITERAL = re.compile(r"(?i)\b(password|passphrase|secret)(\s+|\s*=>\s*)(E?'(?:[^']|'')*')")
_SQL_PGP_KEY = re.compile(r"(?i)\b(pgp_sym_(?:en|de)crypt(?:_bytea)?\s*\([^,()]*,\s*)(E?'(?:[^']|'')*')")


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it would appear."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and credential-shaped substring masked."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _WEBHOOK.sub(MASK, text)
    text = _SQL_LITERAL.sub(lambda m: f"{m[1]}{m[2]}'{MASK}'", text)
    text = _SQL_PGP_KEY.sub(lambda m: f"{m[1]}'{MASK}'", text)
    return _KEYVALUE.sub(lambda m: f"{m[1]}={MASK}", text)


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure (for details stored in history)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, Mapping):
        return {str(k): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    """Logging filter that renders each record's message and redacts it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            # Render the traceback now, redacted; the formatter prints exc_text as it is.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
