"""E-mail to the people whose bookings change: confirmations, reminders, releases."""
