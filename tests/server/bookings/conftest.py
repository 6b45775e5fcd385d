"""The presence tests' world (a desk with its node, a person, a clock the test moves), for
the other booking tests that need it."""

from tests.server.bookings.test_presence import world

__all__ = ["world"]
