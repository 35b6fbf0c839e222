"""Point-in-time recovery on pgBackRest: its configuration, its commands, WAL archiving checks,
restores to a moment proven by recovery markers, and the one recoverability verdict."""
