"""Work plans: where each person works on each day, and the desk bookings that follow them."""
