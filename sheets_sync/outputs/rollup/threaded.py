"""Writing a large output on another thread: text is made on the calling thread, and what
follows — compressing it, the system's part of writing it — runs on a worker thread, which
holds no GIL while zlib or the system works. On a two-core machine a national roll-up's rows
are deflated (216 MB of XML) and its CSV written (≈ 125 MB) while the next rows are made."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future


class ThreadedWriter:
    """A text file's ``write``/``flush``/``close``: text is gathered, encoded as UTF-8 a
    megabyte at a time and handed to ``thread``, where ``sink(data, last)`` runs, chunk after
    chunk in order (``last``: the final one, at ``close``). At most ``AHEAD`` chunks wait for
    the thread: a slower sink slows the writer rather than holding every chunk in memory."""

    CHUNK = 1 << 20  # characters encoded and handed over at once
    AHEAD = 4

    def __init__(self, sink: Callable[[bytes, bool], None], thread: Executor) -> None:
        self._sink = sink
        self._thread = thread
        self._text: list[str] = []
        self._size = 0
        self._ahead: deque[Future[None]] = deque()
        self.closed = False

    def write(self, text: str) -> int:
        self._text.append(text)
        self._size += len(text)
        if self._size >= self.CHUNK:
            self._hand_over(False)
        return len(text)

    def flush(self) -> None:
        """Nothing: text is handed over a chunk at a time, and at ``close``."""

    def _hand_over(self, last: bool) -> None:
        data = "".join(self._text).encode("utf-8")
        self._text.clear()
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
