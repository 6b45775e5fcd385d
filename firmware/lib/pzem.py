"""Peacefair PZEM-004T v3 power meter over Modbus RTU (9600 8N1).

The node asks for the 10 input registers with function 0x04 and gets 25 bytes back:
address, 0x04, 20 (byte count), ten big-endian words, CRC-16/Modbus (low byte first).
Current, power and energy span two words, low word first.
"""

FUNCTION = 0x04
REGISTERS = 10
REPLY_LEN = 5 + 2 * REGISTERS
GENERAL_ADDRESS = 0xF8


class ModbusError(ValueError):
    """A reply that is short, corrupt, from the wrong meter, or a Modbus exception."""


def crc16(data):
    """CRC-16/Modbus (reflected poly 0xA001, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(frame):
    """``frame`` followed by its CRC, low byte first."""
    crc = crc16(frame)
    return bytes(frame) + bytes((crc & 0xFF, crc >> 8))


def read_request(address=GENERAL_ADDRESS):
    """The 8-byte request for all ten input registers."""
    return with_crc(bytes((address, FUNCTION, 0, 0, 0, REGISTERS)))


class Reading:
    """One meter reading in SI units."""

    __slots__ = ("voltage_v", "current_a", "power_w", "energy_wh", "frequency_hz", "pf",
                 "alarm")

    def __init__(self, regs):
        self.voltage_v = regs[0] / 10
        self.current_a = (regs[1] | regs[2] << 16) / 1000
        self.power_w = (regs[3] | regs[4] << 16) / 10
        self.energy_wh = regs[5] | regs[6] << 16
        self.frequency_hz = regs[7] / 10
        self.pf = regs[8] / 100
        self.alarm = regs[9] != 0


def parse_reply(data, address=GENERAL_ADDRESS):
    """A Reading from the meter's reply to read_request, or ModbusError saying why."""
    if len(data) >= 5 and data[1] == FUNCTION | 0x80:
        if crc16(data[:3]) != (data[3] | data[4] << 8):
            raise ModbusError("corrupt exception reply")
        raise ModbusError("meter answered Modbus exception %d" % data[2])
    if len(data) < REPLY_LEN:
        raise ModbusError("short reply: %d of %d bytes" % (len(data), REPLY_LEN))
    data = data[:REPLY_LEN]
    if crc16(data[:-2]) != (data[-2] | data[-1] << 8):
        raise ModbusError("CRC mismatch")
    if address != GENERAL_ADDRESS and data[0] != address:
        raise ModbusError("reply from meter %d, asked %d" % (data[0], address))
    if data[1] != FUNCTION or data[2] != 2 * REGISTERS:
        raise ModbusError("unexpected function %d or length %d" % (data[1], data[2]))
    regs = [data[3 + 2 * i] << 8 | data[4 + 2 * i] for i in range(REGISTERS)]
    return Reading(regs)


def encode_reply(address, voltage_v, current_a, power_w, energy_wh, frequency_hz=50.0,
                 pf=1.0, alarm=False):
    """What a meter would answer (for simulators and tests)."""
    cur, pw = round(current_a * 1000), round(power_w * 10)
    regs = (round(voltage_v * 10), cur & 0xFFFF, cur >> 16, pw & 0xFFFF, pw >> 16,
            int(energy_wh) & 0xFFFF, int(energy_wh) >> 16, round(frequency_hz * 10),
            round(pf * 100), 0xFFFF if alarm else 0)
    body = bytearray((address, FUNCTION, 2 * REGISTERS))
    for r in regs:
        body.extend((r >> 8, r & 0xFF))
    return with_crc(body)
