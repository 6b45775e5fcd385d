"""Backup and restore of a whole deployment (docs/operations.md, Backup and restore)."""
