"""Exceptions that the CLI turns into documented exit codes."""

from __future__ import annotations


class SmcMaintError(Exception):
    """Base class: a failure with a message fit for an operator (no traceback needed)."""


class ConfigError(SmcMaintError):
    """Configuration is missing, malformed or invalid; the message names key and line."""


class UsageError(ConfigError):
    """The command line names something that does not exist (a group, a procedure id): exit 64."""


class LockHeld(SmcMaintError):
    """Another run of the same group holds the lock."""


class SafetyRefusal(SmcMaintError):
    """An operation was refused because it could destroy data it must not touch."""


class HistoryUnavailable(SmcMaintError):
    """The run history store cannot be opened (PostgreSQL unreachable, SQLite file unusable)."""


# Exit codes beyond Nagios' 0-3 (documented in the README).
# They follow sysexits.h so that none can be confused with CRITICAL (2).
EXIT_USAGE = 64  # EX_USAGE: bad command line (click's own 2 is remapped)
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: the history store cannot be reached; nothing ran
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in smc-maint itself
EXIT_REFUSED = 77  # EX_NOPERM: a safety check refused a destructive operation
EXIT_LOCK_HELD = 75  # EX_TEMPFAIL: another run of this group holds the lock; try later
EXIT_CONFIG_ERROR = 78  # EX_CONFIG: configuration missing, malformed or invalid
