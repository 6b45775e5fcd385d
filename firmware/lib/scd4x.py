"""Sensirion SCD4x (SCD40/SCD41) CO2, temperature and humidity over I2C at 0x62.

Every 16-bit word the sensor sends is followed by a CRC-8 (polynomial 0x31, init 0xFF);
a word whose CRC does not match is refused, never turned into a reading.
"""

ADDRESS = 0x62
START_PERIODIC = 0x21B1
STOP_PERIODIC = 0x3F86
READ_MEASUREMENT = 0xEC05
DATA_READY = 0xE4B8
REINIT = 0x3646


class CRCError(ValueError):
    """A word's CRC did not match."""


def crc8(data):
    """Sensirion CRC-8 of ``data`` (poly 0x31, init 0xFF, no reflection)."""
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def words(data):
    """Split [msb, lsb, crc] triples into 16-bit words, checking each CRC."""
    if len(data) % 3:
        raise CRCError("short read: %d bytes" % len(data))
    out = []
    for i in range(0, len(data), 3):
        if crc8(data[i : i + 2]) != data[i + 2]:
            raise CRCError("CRC mismatch in word %d" % (i // 3))
        out.append(data[i] << 8 | data[i + 1])
    return out


def encode_words(values):
    """[msb, lsb, crc] triples for ``values`` (what the sensor would send)."""
    out = bytearray()
    for v in values:
        pair = bytes((v >> 8, v & 0xFF))
        out.extend(pair)
        out.append(crc8(pair))
    return bytes(out)


def decode_measurement(data):
    """(co2_ppm, temp_c, rh_pct) from the 9 bytes of read_measurement."""
    co2, t, rh = words(data)
    return co2, -45 + 175 * t / 65536, 100 * rh / 65536


def data_ready(data):
    """Whether get_data_ready_status says a measurement is waiting."""
    return words(data)[0] & 0x07FF != 0


def command(code):
    """The two bytes that send ``code``."""
    return bytes((code >> 8, code & 0xFF))


class SCD4x:
    """The sensor on an I2C bus (``machine.I2C`` or anything with writeto/readfrom)."""

    def __init__(self, i2c, sleep_ms, address=ADDRESS):
        self._i2c = i2c
        self._sleep_ms = sleep_ms
        self._address = address

    def _read(self, code, n, wait_ms=1):
        self._i2c.writeto(self._address, command(code))
        self._sleep_ms(wait_ms)
        return self._i2c.readfrom(self._address, n)

    def start(self):
        """Start periodic measurement (a new value every 5 s)."""
        self._i2c.writeto(self._address, command(START_PERIODIC))

    def stop(self):
        """Stop periodic measurement (the sensor needs 500 ms before the next command)."""
        self._i2c.writeto(self._address, command(STOP_PERIODIC))
        self._sleep_ms(500)

    def ready(self):
        """Whether a measurement is waiting."""
        return data_ready(self._read(DATA_READY, 3))

    def read(self):
        """(co2_ppm, temp_c, rh_pct); raises CRCError or OSError when the bus lies."""
        return decode_measurement(self._read(READ_MEASUREMENT, 9))
