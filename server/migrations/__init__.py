"""Alembic migrations of the relational database (``alembic.ini``-free; see db.init_schema)."""
