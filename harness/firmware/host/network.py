"""Host stand-in for MicroPython's network module, driven by hostsim."""

import hostsim

STA_IF = 0


class WLAN:
    def __init__(self, interface=STA_IF):
        self._wanted = False

    def active(self, on=None):
        return True

    def connect(self, ssid, password):
        self._wanted = True

    def disconnect(self):
        self._wanted = False

    def isconnected(self):
        return self._wanted and hostsim.wifi_up

    def status(self, what=None):
        return hostsim.rssi if what == "rssi" else 1010
