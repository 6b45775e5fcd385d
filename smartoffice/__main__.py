"""Allow ``python -m smartoffice``."""

from smartoffice.cli import app

app()
