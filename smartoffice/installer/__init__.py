"""The installer toolkit: ``smartoffice login`` and ``smartoffice device ...``."""
