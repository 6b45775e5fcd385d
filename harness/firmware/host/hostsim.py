"""State shared by the host stand-ins for machine, network and ntptime (tests set it)."""

pins = {}  # pin id -> input level
outputs = {}  # pin id -> last output level
uart_rx = {}  # uart id -> bytearray waiting to be read
uart_writes = {}  # uart id -> list of written frames
responders = {}  # uart id -> function(written bytes) -> reply bytes
i2c_devices = {}  # address -> object with write(buf) / read(n)
adc = {}  # pin id -> 16-bit value
wifi_up = True
rssi = -58
ntp_ok = True
wdt = {"timeout": None, "feeds": 0, "last": None, "expired": False}
resets = []
pin_error = None  # an exception Pin.value() raises (a driver that crashes)
pin_source = None  # function(pin id) -> input level, instead of ``pins`` (a scripted day)
uart_source = None  # function(uart id) -> bytes arriving now, added to ``uart_rx``
