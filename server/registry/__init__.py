"""Gateways and devices as far as the data path needs them: who may send, and where from."""
