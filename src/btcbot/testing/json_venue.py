"""A minimal hostile venue for tests: a loopback HTTP server whose every GET is answered by one function.

For the cases the simulator must never do on purpose (echoing our auth headers back, nonsense field values),
which is exactly what the secret-leak tests need to prove nothing reaches an edge.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (path, request headers) -> (HTTP status, JSON body)
Answer = Callable[[str, Mapping[str, str]], tuple[int, Any]]


@contextmanager
def json_venue(answer: Answer) -> Iterator[str]:
    """Serve ``answer`` on 127.0.0.1 (a port the OS picks) and yield the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            status, body = answer(self.path, dict(self.headers.items()))
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
