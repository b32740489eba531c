"""Per-user Sheets read/write quotas in fixed windows.

``t0`` is the arrival time of the first Sheets request after ``start()``/``reset()``;
window k is ``[t0 + k*W, t0 + (k+1)*W)``. In each window a service account (client_email)
gets at most ``read_limit`` Sheets read requests and ``write_limit`` Sheets write requests
accepted; a rejected request does not consume quota. Drive and token requests are not
limited.
"""

from __future__ import annotations

import math
from collections.abc import Callable


class Quota:
    def __init__(self, read_limit: int | None, write_limit: int | None, window_s: float,
                 clock: Callable[[], float]):
        self.limits = {"read": read_limit, "write": write_limit}
        self.window_s = window_s
        self.clock = clock
        self.t0: float | None = None
        self._used: dict[tuple[str, str], tuple[int, int]] = {}  # (email, kind) -> (window, n)

    def reset(self) -> None:
        self.t0 = None
        self._used.clear()

    def admit(self, email: str, kind: str) -> float | None:
        """Count a Sheets request; None when accepted, else seconds until the next window."""
        now = self.clock()
        if self.t0 is None:
            self.t0 = now
        limit = self.limits.get(kind)
        if limit is None:
            return None
        elapsed = now - self.t0
        window = math.floor(elapsed / self.window_s)
        current, used = self._used.get((email, kind), (window, 0))
        if current != window:
            used = 0
        if used >= limit:
            return (window + 1) * self.window_s - elapsed
        self._used[(email, kind)] = (window, used + 1)
        return None
