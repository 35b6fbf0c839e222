"""Targeted database maintenance: facts read from PostgreSQL, decisions as pure functions."""
