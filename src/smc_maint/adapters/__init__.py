"""Adapters: one small interface per outside system (PostgreSQL, backup store, HTTP, clock...)."""
