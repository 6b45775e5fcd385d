"""The building's calendar, which bookings and energy both ask.

Its zone and local time (``dates``), its policy and closed days (``policy``), and its
working days and hours (``hours``), with when check-in opens.
"""
