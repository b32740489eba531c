"""Writing a large output on another thread: text is made on the calling thread, and what
follows — compressing it, the system's part of writing it — runs on a worker thread, which
holds no GIL while zlib or the system works. On a two-core machine a national roll-up's rows
are deflated (216 MB of XML) and its CSV written (≈ 125 MB) while the next rows are made."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any


class ThreadedWriter:
    """A file's ``write``/``flush``/``close``: what is written (text, encoded as UTF-8, or
    bytes) is gathered and handed to ``thread`` a megabyte at a time, where
    ``sink(data, last)`` runs, chunk after chunk in order (``last``: the final one, at
    ``close``). At most ``AHEAD`` chunks wait for the thread: a slower sink slows the writer
    rather than holding every chunk in memory."""

    CHUNK = 1 << 20  # characters (or bytes) handed over at once
    AHEAD = 4

    def __init__(self, sink: Callable[[bytes, bool], None], thread: Executor,
                 text: bool = True) -> None:
        self._sink = sink
        self._thread = thread
        self._text = text
        self._parts: list[Any] = []
        self._size = 0
        self._ahead: deque[Future[None]] = deque()
        self.closed = False

    def write(self, data: Any) -> int:
        """``data``: text, or bytes when made with ``text=False``."""
        self._parts.append(data)
        self._size += len(data)
        if self._size >= self.CHUNK:
            self._hand_over(False)
        return len(data)

    def flush(self) -> None:
        """Nothing: text is handed over a chunk at a time, and at ``close``."""

    def _hand_over(self, last: bool) -> None:
        data = "".join(self._parts).encode("utf-8") if self._text else b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        if len(self._ahead) >= self.AHEAD:
            self._ahead.popleft().result()
        self._ahead.append(self._thread.submit(self._sink, data, last))

    def close(self) -> None:
        """Everything written handed over and sunk; the first failure raised. After a failure
        the chunks still waiting are sunk (or fail) before this returns."""
        if self.closed:
            return
        self.closed = True
        try:
            self._hand_over(True)
            while self._ahead:
                self._ahead.popleft().result()
        finally:
            while self._ahead:
                self._ahead.popleft().exception()
