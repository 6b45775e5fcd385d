"""Personal data: what is held (the inventory), how long, and the people's rights over it."""
