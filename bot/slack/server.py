"""The HTTP server of `coprod run --http`: waitress, set up so that slow or idle clients can't crowd Slack out.

Waitress reads requests on one thread (its event loop) and hands only complete ones to its worker threads,
so a client that sends its headers a byte at a time holds a connection, never a worker. What a crowd of
such clients can use up is connections: waitress takes 100 at most by default, then stops accepting, and
Slack's next request waits in the kernel's queue until one of them leaves. So coprod

- takes up to CONNECTION_LIMIT connections at once, watched with poll() (select() can't watch a file
  descriptor above 1023), and raises the process's open-file limit to fit when the system allows;
- closes a connection that has spent REQUEST_DEADLINE seconds on one request without finishing it (a
  client sending a byte now and then is never idle, so waitress's idle timeout alone never closes it);
- closes a connection idle for IDLE_TIMEOUT seconds (waitress: 120);
- reads at most MAX_HEADERS bytes of headers and MAX_BODY of body (Slack sends a few kilobytes).

bench/slowloris_bench.py measures it; BENCHMARKS.md has the figures. More clients than the limit, or
new ones opened faster than the deadline closes them, still queue: in front of the public internet, a
proxy or firewall that limits connections per address is the remedy (README, RELIABILITY.md).
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Callable

from waitress.adjustments import Adjustments
from waitress.server import TcpWSGIServer

log = logging.getLogger(__name__)

CONNECTION_LIMIT = 1000
FILES_BESIDES_CONNECTIONS = 100  # the database and its side files, connections to Slack, logs
REQUEST_DEADLINE = 10  # seconds to send one whole request; Slack's take milliseconds
IDLE_TIMEOUT = 30  # seconds a connection may sit idle between requests
CLEANUP_INTERVAL = 2  # seconds between sweeps for connections past a deadline
MAX_HEADERS = 32 * 1024
MAX_BODY = 1024 * 1024
THREADS = 8


class SlowClientSafeServer(TcpWSGIServer):
    """Waitress's TCP server, also closing connections that take more than ``request_deadline`` seconds
    to send one request. Checked on waitress's own sweep, so a slow request is closed within
    ``request_deadline`` plus two cleanup intervals."""

    def __init__(self, application: Callable, *, request_deadline: float, adj: Adjustments):
        self.request_deadline = request_deadline
        # Per connection (by file descriptor): the request being read, and when a sweep first saw it.
        self._reading: dict[int, tuple[object, float]] = {}
        super().__init__(application, adj=adj)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections
        reading: dict[int, tuple[object, float]] = {}
        for fd, channel in list(self.active_channels.items()):
            request = channel.request  # a request not yet fully received, or None
            if request is None or channel.requests:  # nothing half-read, or a response still to send
                continue
            seen = self._reading.get(fd)
            since = seen[1] if seen is not None and seen[0] is request else now
            if now - since >= self.request_deadline:
                channel.will_close = True  # the event loop closes it on its next pass
            else:
                reading[fd] = (request, since)
        self._reading = reading


def make_server(
    application: Callable, *, host: str, port: int, request_deadline: float = REQUEST_DEADLINE
) -> SlowClientSafeServer:
    """The server, bound and listening on ``host``:``port`` (OSError when it can't be)."""
    adj = Adjustments(
        host=host,
        port=port,
        threads=THREADS,
        ident="coprod",
        clear_untrusted_proxy_headers=True,
        connection_limit=connection_limit(CONNECTION_LIMIT),
        asyncore_use_poll=True,
        channel_timeout=IDLE_TIMEOUT,
        cleanup_interval=CLEANUP_INTERVAL,
        max_request_header_size=MAX_HEADERS,
        max_request_body_size=MAX_BODY,
    )
    return SlowClientSafeServer(application, request_deadline=request_deadline, adj=adj)


def connection_limit(wanted: int) -> int:
    """``wanted``, or as many connections as the open-file limit leaves room for (raised first, as far as
    the hard limit allows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + FILES_BESIDES_CONNECTIONS
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    room = max(10, soft - FILES_BESIDES_CONNECTIONS)
    log.warning(
        "the open-file limit (%s) leaves room for %s connections at once, not %s: raise it (ulimit -n) "
        "so that slow clients can't crowd Slack out",
        soft,
        room,
        wanted,
    )
    return room
