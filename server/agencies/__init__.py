"""Agencies (instansi): the ministries that share a tower, each with its people and floors."""
