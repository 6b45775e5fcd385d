"""The ``smartoffice`` command: one entry point for server, gateway, tools and demo."""
