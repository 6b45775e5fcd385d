"""HLK-LD2410 mmWave radar: parse its reporting frames from UART bytes.

A data frame is F4 F3 F2 F1, a 2-byte little-endian length, the payload, F8 F7 F6 F5.
The payload of a basic report is 02 AA, target state, moving distance (cm, 2 bytes),
moving energy, still distance (cm, 2 bytes), still energy, detection distance (2 bytes),
55 00. Engineering reports (01 AA ...) carry the same first fields. Bytes arrive split
at any point; corrupt frames are dropped, counted, and the parser finds the next header.
"""

HEADER = b"\xf4\xf3\xf2\xf1"
FOOTER = b"\xf8\xf7\xf6\xf5"
# Longest payload the radar sends (engineering mode); anything longer is corruption.
MAX_PAYLOAD = 64

NONE = 0
MOVING = 1
STILL = 2
BOTH = 3


class Target:
    """One report: state and the moving and still targets' distance (cm) and energy."""

    __slots__ = ("state", "moving_cm", "moving_energy", "still_cm", "still_energy", "detect_cm")

    def __init__(self, state, moving_cm, moving_energy, still_cm, still_energy, detect_cm):
        self.state = state
        self.moving_cm = moving_cm
        self.moving_energy = moving_energy
        self.still_cm = still_cm
        self.still_energy = still_energy
        self.detect_cm = detect_cm

    @property
    def present(self):
        """Whether the radar sees anyone, moving or still."""
        return self.state != NONE

    @property
    def distance_cm(self):
        """Distance of the nearest target, or None."""
        if self.state == MOVING:
            return self.moving_cm
        if self.state == STILL:
            return self.still_cm
        if self.state == BOTH:
            return min(self.moving_cm, self.still_cm)
        return None


def decode(payload):
    """A Target from one frame's payload, or None when it is not a target report."""
    if len(payload) < 13 or payload[0] not in (1, 2) or payload[1] != 0xAA:
        return None
    if payload[2] > BOTH:
        return None
    return Target(
        payload[2],
        payload[3] | payload[4] << 8,
        payload[5],
        payload[6] | payload[7] << 8,
        payload[8],
        payload[9] | payload[10] << 8,
    )


class Parser:
    """Feed it UART bytes; it returns the complete target reports found so far."""

    def __init__(self):
        self._buf = bytearray()
        self.frames = 0
        self.errors = 0  # frames with a bad length, footer or payload
        self.skipped = 0  # bytes outside any frame (e.g. mid-frame at power-up)

    def feed(self, data):
        """Add bytes; return a list of Target for every complete, valid frame."""
        self._buf.extend(data)
        out = []
        buf = self._buf
        while True:
            start = buf.find(HEADER)
            if start < 0:
                # Keep a possible partial header at the end, drop the rest.
                keep = 0
                for n in (3, 2, 1):
                    if buf[-n:] == HEADER[:n]:
                        keep = n
                        break
                self.skipped += len(buf) - keep
                buf[:] = buf[len(buf) - keep :]
                break
            if start > 0:
                self.skipped += start
                buf[:] = buf[start:]
            if len(buf) < 6:
                break
            length = buf[4] | buf[5] << 8
            if length > MAX_PAYLOAD:
                self.errors += 1
                buf[:] = buf[4:]
                continue
            end = 6 + length + 4
            if len(buf) < end:
                break
            if buf[6 + length : end] != FOOTER:
                self.errors += 1
                buf[:] = buf[4:]
                continue
            target = decode(bytes(buf[6 : 6 + length]))
            buf[:] = buf[end:]
            if target is None:
                self.errors += 1
                continue
            self.frames += 1
            out.append(target)
        return out


def frame(state, moving_cm=0, moving_energy=0, still_cm=0, still_energy=0, detect_cm=0):
    """Encode a basic report frame (for simulators and tests)."""
    payload = bytes((
        2, 0xAA, state,
        moving_cm & 0xFF, moving_cm >> 8, moving_energy,
        still_cm & 0xFF, still_cm >> 8, still_energy,
        detect_cm & 0xFF, detect_cm >> 8, 0x55, 0x00,
    ))
    return HEADER + bytes((len(payload), 0)) + payload + FOOTER
