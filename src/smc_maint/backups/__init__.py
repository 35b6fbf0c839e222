"""Backups that prove they restore: create, manifest, verify, retention, restore test."""
