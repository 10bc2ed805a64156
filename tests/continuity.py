"""A bounded request loop that measures whether what answers keeps answering while an operation runs."""

from __future__ import annotations

import threading
import time
from collections import Counter

import requests


class Continuity:
    """GETs the URLs in turn from a thread, each on a new connection (a proxy or the mesh picks a task per
    connection), until the block ends, `limit` requests were made or `seconds` passed: it stops by itself."""

    def __init__(self, urls: list[str], *, limit: int = 20_000, seconds: float = 600, expect: str = ""):
        self.urls = urls
        self.limit = limit
        self.seconds = seconds
        self.expect = expect
        self.ok: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: list[str] = []
        self.failed_at: list[tuple[str, float]] = []  # (url, time.monotonic()) of every failed request
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        end = time.monotonic() + self.seconds
        for n in range(self.limit):
            if self._stop.is_set() or time.monotonic() > end:
                return
            url = self.urls[n % len(self.urls)]
            try:
                r = requests.get(url, timeout=3, headers={"Connection": "close"})
                good = r.status_code == 200 and self.expect in r.text
                why = f"HTTP {r.status_code}"
            except requests.RequestException as exc:
                good, why = False, type(exc).__name__
            (self.ok if good else self.failed)[url] += 1
            if not good:
                self.failed_at.append((url, time.monotonic()))
            if not good and len(self.errors) < 10:
                self.errors.append(f"{url}: {why}")
            time.sleep(0.02)

    def __enter__(self) -> Continuity:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def assert_unbroken(self, least: int = 50) -> None:
        """No failed request, and enough requests on every URL to mean something."""
        assert not self.failed, (dict(self.failed), self.errors)
        assert all(self.ok[u] >= least for u in self.urls), dict(self.ok)
