"""Reading stores: one interface, an InfluxDB backend and an embedded SQLite backend."""
