"""The HTTP API: one router per area, thin over the services below.

A route parses the request, checks who may call it (``deps``), calls the area's service
and shapes the answer. Nothing below this package imports it.
"""
