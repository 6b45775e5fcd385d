"""Private instances of the real services (Mosquitto, InfluxDB, PostgreSQL)."""
