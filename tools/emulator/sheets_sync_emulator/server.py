"""The HTTP/1.1 server: keep-alive, ``Content-Length`` on every answer, quiet logs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .wire import HttpRequest, Reply

App = Callable[[HttpRequest], Reply]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    # One buffered write per answer and no Nagle delay (else ~40 ms per keep-alive request).
    wbufsize = -1
    disable_nagle_algorithm = True

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        request = HttpRequest.parse(self.command, self.path, dict(self.headers), self._body())
        reply = self.server.app(request)  # type: ignore[attr-defined]
        try:
            self.send_response(reply.status)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. a read timeout during an injected delay).
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default 5 drops concurrent connects (1 s SYN retry)

    def __init__(self, app: App, port: int = 0, host: str = "127.0.0.1"):
        super().__init__((host, port), _Handler)
        self.app = app
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,),
                                       name="sheets-emulator", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join()
