"""The readings kept while offline, in one buffer allocated at boot.

A fixed number of bytes, not of readings: the node's memory use does not grow while it is
offline, whatever the readings look like. Each record is a stream number (1 byte), the
body's length (2 bytes, big-endian) and the body. When a reading does not fit, the oldest
go first, and are counted.
"""


class Ring:
    """Records of (stream, body bytes) in ``capacity`` bytes; ``dropped`` counts losses."""

    def __init__(self, capacity):
        self._buf = bytearray(capacity)
        self.capacity = capacity
        self._head = 0  # where the oldest record starts
        self._used = 0  # bytes in use
        self._n = 0  # records held
        self.dropped = 0

    def __len__(self):
        return self._n

    def _get(self, pos, n):
        end = pos + n
        if end <= self.capacity:
            return bytes(self._buf[pos:end])
        wrap = end - self.capacity
        return bytes(self._buf[pos:]) + bytes(self._buf[:wrap])

    def _put(self, pos, data):
        first = min(len(data), self.capacity - pos)
        self._buf[pos:pos + first] = data[:first]
        if first < len(data):
            self._buf[:len(data) - first] = data[first:]

    def push(self, stream, body):
        """Append a record; the oldest are dropped until it fits (a body that can never
        fit is itself dropped)."""
        need = 3 + len(body)
        if need > self.capacity or len(body) > 0xFFFF:
            self.dropped += 1
            return
        while self.capacity - self._used < need:
            self._drop()
            self.dropped += 1
        tail = (self._head + self._used) % self.capacity
        self._put(tail, bytes((stream, len(body) >> 8, len(body) & 0xFF)))
        self._put((tail + 3) % self.capacity, body)
        self._used += need
        self._n += 1

    def peek(self):
        """The oldest record as (stream, body), or None."""
        if not self._n:
            return None
        head = self._get(self._head, 3)
        return head[0], self._get((self._head + 3) % self.capacity, head[1] << 8 | head[2])

    def pop(self):
        """Remove and return the oldest record, or None."""
        item = self.peek()
        if item is not None:
            self._drop()
        return item

    def _drop(self):
        head = self._get(self._head, 3)
        size = 3 + (head[1] << 8 | head[2])
        self._head = (self._head + size) % self.capacity
        self._used -= size
        self._n -= 1
