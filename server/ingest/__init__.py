"""Ingest: gateways' batches in, validated and de-duplicated, into the reading store."""
