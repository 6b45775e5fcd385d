"""A fixed-size ring of readings kept while offline: the oldest go first, and are counted."""


class Ring:
    """At most ``capacity`` items; ``dropped`` counts those pushed out."""

    def __init__(self, capacity):
        self._items = [None] * capacity
        self._head = 0
        self._len = 0
        self.capacity = capacity
        self.dropped = 0

    def __len__(self):
        return self._len

    def push(self, item):
        """Append; when full, the oldest item is dropped."""
        tail = (self._head + self._len) % self.capacity
        self._items[tail] = item
        if self._len == self.capacity:
            self._head = (self._head + 1) % self.capacity
            self.dropped += 1
        else:
            self._len += 1

    def peek(self):
        """The oldest item, or None."""
        return self._items[self._head] if self._len else None

    def pop(self):
        """Remove and return the oldest item, or None."""
        if not self._len:
            return None
        item = self._items[self._head]
        self._items[self._head] = None
        self._head = (self._head + 1) % self.capacity
        self._len -= 1
        return item
