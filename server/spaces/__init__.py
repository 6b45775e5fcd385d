"""Buildings, floors, zones, desks and rooms: the layout everything else refers to."""
