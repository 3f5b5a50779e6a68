"""In-process token-bucket rate limits (one server process per study; see README)."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """``allow(key)`` spends one token of ``key``'s bucket: ``rate`` tokens a second refill it up
    to ``burst``. Buckets idle for a minute are dropped so memory stays bounded."""

    def __init__(self, rate: float, burst: int):
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate and burst must be positive, got {rate}, {burst}")
        self.rate, self.burst = float(rate), float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._swept = time.monotonic()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._swept > 60:
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
                self._swept = now
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True
