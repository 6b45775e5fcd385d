"""Energy use and comfort: accounting, rollups, zone actions, alerts and savings."""
