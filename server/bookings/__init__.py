"""Flexible desk and room bookings, their rules, and what the sensors say about them."""
