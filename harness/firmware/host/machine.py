"""Host stand-in for MicroPython's machine module, driven by hostsim."""

import time

import hostsim


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 2

    def __init__(self, pin_id, mode=None, pull=None):
        self.id = pin_id
        self.mode = mode

    def value(self, level=None):
        if hostsim.pin_error is not None:
            raise hostsim.pin_error
        if level is None:
            if hostsim.pin_source is not None:
                return hostsim.pin_source(self.id)
            return hostsim.pins.get(self.id, 0)
        hostsim.outputs[self.id] = level
        return None


class UART:
    def __init__(self, uart_id, baudrate=9600, tx=None, rx=None, **kw):
        self.id = uart_id
        hostsim.uart_rx.setdefault(uart_id, bytearray())

    def read(self, n=None):
        if hostsim.uart_source is not None:
            hostsim.uart_rx[self.id].extend(hostsim.uart_source(self.id))
        buf = hostsim.uart_rx[self.id]
        if not buf:
            return None
        n = len(buf) if n is None else min(n, len(buf))
        out = bytes(buf[:n])
        hostsim.uart_rx[self.id] = buf[n:]
        return out

    def write(self, data):
        hostsim.uart_writes.setdefault(self.id, []).append(bytes(data))
        responder = hostsim.responders.get(self.id)
        if responder:
            hostsim.uart_rx[self.id].extend(responder(bytes(data)))
        return len(data)


class I2C:
    def __init__(self, bus, scl=None, sda=None, freq=100000):
        self.bus = bus

    def _device(self, addr):
        dev = hostsim.i2c_devices.get(addr)
        if dev is None:
            raise OSError(19)  # ENODEV: nobody answers at that address
        return dev

    def writeto(self, addr, buf):
        self._device(addr).write(bytes(buf))

    def readfrom(self, addr, n):
        return self._device(addr).read(n)


class ADC:
    def __init__(self, pin):
        self.pin = pin

    def read_u16(self):
        return hostsim.adc.get(self.pin.id, 0)


class WDT:
    def __init__(self, id=0, timeout=5000):
        hostsim.wdt["timeout"] = timeout
        hostsim.wdt["last"] = time.ticks_ms()

    def feed(self):
        now = time.ticks_ms()
        if time.ticks_diff(now, hostsim.wdt["last"]) > hostsim.wdt["timeout"]:
            hostsim.wdt["expired"] = True
        hostsim.wdt["last"] = now
        hostsim.wdt["feeds"] += 1


def reset():
    hostsim.resets.append(time.ticks_ms())
    raise SystemExit("machine.reset()")
