"""The building's edge gateway: MQTT in, validation, durable outbox, batches out to the server."""
