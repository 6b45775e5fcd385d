"""The IKN Smart Office server: ingest, reading stores, registry and (later) bookings."""
