"""Slow clients (slowloris): connections that never finish a request, held open against an HTTP server.

``SlowClients(port, count)`` opens ``count`` connections from this machine's one address and keeps them open
on a thread of its own: half idle (connected, nothing sent), half trickling (a request line, then one more
header byte every ``every`` seconds, never the blank line that ends the headers). A connection the server
closes is opened again at once, as an attacker would; ``reopened`` counts those.
"""

from __future__ import annotations

import socket
import threading
from typing import Self

REQUEST_LINE = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
HEADER_BYTES = b"X-Slow: a\r\n"  # sent one byte at a time, over and over


class _Connection:
    def __init__(self, host: str, port: int, trickle: bool):
        self.trickle = trickle
        self.sent = 0
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.setblocking(False)
        if trickle:
            self._send(REQUEST_LINE)

    def _send(self, data: bytes) -> None:
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def closed_by_server(self) -> bool:
        """Whether the server has closed (or answered, which it does only to close) this connection."""
        try:
            self.sock.recv(1, socket.MSG_PEEK)  # b"" once closed; an answer means it is closing
        except BlockingIOError:  # nothing to read: still open
            return False
        except OSError:
            pass
        return True

    def step(self) -> None:
        if self.trickle:
            i = self.sent % len(HEADER_BYTES)
            self._send(HEADER_BYTES[i : i + 1])
            self.sent += 1

    def close(self) -> None:
        self.sock.close()


class SlowClients:
    """``count`` slow connections to ``host``:``port``, held open until ``stop()`` (or the ``with`` ends)."""

    def __init__(self, port: int, count: int = 300, every: float = 1.0, host: str = "127.0.0.1"):
        self.host, self.port, self.count, self.every = host, port, count, every
        self.reopened = 0
        self._connections: list[_Connection] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self, index: int) -> _Connection:
        return _Connection(self.host, self.port, trickle=index % 2 == 1)

    def start(self) -> Self:
        self._connections = [self._open(i) for i in range(self.count)]
        self._thread = threading.Thread(target=self._hold, name="slow-clients", daemon=True)
        self._thread.start()
        return self

    def _hold(self) -> None:
        while not self._stopping.wait(self.every):
            for i, conn in enumerate(self._connections):
                try:
                    if not conn.closed_by_server():
                        conn.step()
                        continue
                except OSError:
                    pass
                conn.close()
                try:
                    self._connections[i] = self._open(i)
                    self.reopened += 1
                except OSError:  # the server's queue is full: try again on the next step
                    pass

    @property
    def open(self) -> int:
        """How many connections are held open (as far as this side knows)."""
        return sum(1 for c in self._connections if c.sock.fileno() != -1)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for conn in self._connections:
            conn.close()
        self._connections = []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
