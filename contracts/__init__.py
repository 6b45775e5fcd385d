"""The wire contract shared by firmware, edge gateway and server.

Topics are built and parsed only by :mod:`contracts.topics`; payloads are validated only
by :mod:`contracts.payloads`; the gateway-to-server batch lives in :mod:`contracts.batch`
and the registry snapshot in :mod:`contracts.registry`.
"""
