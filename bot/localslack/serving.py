"""A server on a daemon thread of this process: the lifecycle the Slack stand-ins (and the tests' Socket Mode
endpoint) share."""

from __future__ import annotations

import threading
from typing import Any, Self


class ServedInThread:
    """``start()`` serves on a daemon thread (again: nothing), ``stop()`` shuts the server down and joins the
    thread; or ``with``. ``bind()`` alone takes the port without serving yet. A subclass makes the server
    (``_make_server``) and may serve and close it its way."""

    thread_name = "server"

    def __init__(self) -> None:
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> Any:
        raise NotImplementedError

    def _serve(self, server: Any) -> None:
        server.serve_forever()

    def _close(self, server: Any) -> None:
        server.shutdown()

    def _unbind(self, server: Any) -> None:
        server.server_close()

    def _started(self) -> Any:
        """The running server; RuntimeError when not started."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._server

    def bind(self) -> Self:
        """Make the server (its socket bound and listening) without serving yet: connections wait."""
        if self._server is None:
            self._server = self._make_server()
        return self

    def start(self) -> Self:
        self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve, args=(self._server,), name=self.thread_name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is None:
            self._unbind(server)  # bound, never served: nothing to shut down
        elif server is not None:
            self._close(server)
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
