"""Simulated sensor hardware for host tests: an SCD4x on I2C and PZEM meters on a UART."""

import pzem
import scd4x


class SCD4x:
    """Answers the SCD4x commands the driver sends; ``values`` is (co2, t_raw, rh_raw)."""

    def __init__(self, co2=600, temp_c=24.0, rh_pct=55.0):
        self.co2, self.temp_c, self.rh_pct = co2, temp_c, rh_pct
        self.corrupt = False
        self._last = None

    def write(self, buf):
        self._last = buf[0] << 8 | buf[1]

    def read(self, n):
        if self._last == scd4x.DATA_READY:
            return scd4x.encode_words([0x8006])
        t = int((self.temp_c + 45) * 65536 / 175)
        rh = int(self.rh_pct * 65536 / 100)
        raw = bytearray(scd4x.encode_words([int(self.co2), t, rh]))
        if self.corrupt:
            raw[4] ^= 0x40
        return bytes(raw)


def pzem_bus(meters):
    """A UART responder for meters {address: (voltage, current, power, energy_wh)}."""

    def respond(request):
        address = request[0]
        if address not in meters:
            return b""  # nobody answers: a short read
        return pzem.encode_reply(address, *meters[address])

    return respond
