"""A small TTL cache shared by every visitor, loading each key once at a time.

However many visitors look at the same Calendly event type within one TTL, the loader
runs once: the first caller loads while the others wait on that key's lock. Errors are
not cached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class TTLCache:
    def __init__(self, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl_seconds
        self.clock = clock
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        hit = self._values.get(key)
        if hit and hit[0] > self.clock():
            return True, hit[1]
        return False, None

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        found, value = self._fresh(key)
        if found:
            return value
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found, value = self._fresh(key)
            if found:
                return value
            value = load()
            now = self.clock()
            with self._guard:
                self._values = {k: v for k, v in self._values.items() if v[0] > now}
                self._values[key] = (now + self.ttl, value)
            return value

    def invalidate(self, match: Callable[[Hashable], bool]) -> None:
        """Forget every key for which ``match(key)`` is true."""
        with self._guard:
            self._values = {k: v for k, v in self._values.items() if not match(k)}
