"""Slack on 127.0.0.1: the Web API under ``/api/<method>``, response URLs under ``/response/<key>``, file
uploads under ``/upload/<id>``, and (for a local workspace) the page, all on one port.

slack_sdk's WebClient posts to ``<url><method>`` exactly as it would to https://slack.com/api/. Each request is
parsed once into an :class:`ApiRequest` and answered through :meth:`SlackServer.handle_api`, which a subclass
may wrap (the tests' recording stand-in injects faults there). Anything else goes to the page, when there is
one, and is otherwise a 404.

Any web page the person has open could send a request to this port, so every route first checks (issue 22):
the Host is this port's own (no DNS rebinding), an Origin, when a browser sends one, is this port's own (no
cross-site POST, which a browser sends with an Origin), and the URLs handed out for response URLs, uploads
and files carry a token made for this run (``/run/<token>/...``), without which ``/response/`` and
``/upload/`` are refused. Slack's upload flow is: get a URL from files.getUploadURLExternal, POST the file to
it, then finish with files.completeUploadExternal (https://api.slack.com/methods/files.getUploadURLExternal,
https://api.slack.com/methods/files.completeUploadExternal); here, once finished, its URL takes no more bytes.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import secrets
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from bot.localslack import access
from bot.localslack.limits import SlackRefusal
from bot.localslack.serving import ServedInThread
from bot.localslack.webapi import WebAPI
from bot.localslack.workspace import Hook, Workspace

HOST = "127.0.0.1"  # loopback only: nobody else on the network reaches it


@dataclass
class ApiRequest:
    """One request to Slack: the method (or ``response_url``, ``file_upload``, or the path for anything
    else), its arguments (query string, then form fields or the JSON body's), and who sent it."""

    method: str
    args: dict[str, Any]
    token: str | None
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    arrived: float = 0.0


class Exchange:
    """The answer to one HTTP request: sent once, or not at all (:meth:`hang_up`)."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.handler = handler

    @property
    def path(self) -> str:
        return self.handler.path

    @property
    def method(self) -> str:
        return self.handler.command

    def header(self, name: str) -> str:
        return str(self.handler.headers.get(name, ""))

    def body(self) -> bytes:
        length = int(self.handler.headers.get("Content-Length") or 0)
        return self.handler.rfile.read(length) if length > 0 else b""

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(body).encode("utf-8"), "application/json; charset=utf-8", headers)

    def send(self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.handler.send_response(status)
            self.handler.send_header("Content-Type", ctype)
            self.handler.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.handler.send_header(k, v)
            self.handler.end_headers()
            self.handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout)

    def hang_up(self) -> None:
        """Close the connection with nothing written: the caller hears no answer at all."""
        self.handler.close_connection = True


class Page(Protocol):
    def handle(self, exchange: Exchange) -> bool:
        """Answer the request if it is the page's; False if not."""


def parse_body(ctype: str, raw: bytes) -> dict[str, Any]:
    """A Web API request's arguments: JSON object, multipart form or URL-encoded form."""
    if not raw:
        return {}
    lowered = ctype.lower()
    if lowered.startswith("application/json"):
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return {"_raw": raw.decode("utf-8", "replace")}
        return body if isinstance(body, dict) else {"_json": body}
    if lowered.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + raw
        )
        args: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or not name:
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            args[name] = data if part.get_filename() else data.decode("utf-8", "replace")
        return args
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def parse_api_request(exchange: Exchange) -> ApiRequest | None:
    """The request as Slack reads it, or None when its path is not Slack's."""
    arrived = time.time()
    parts = urlsplit(exchange.path)
    path = parts.path
    if not path.startswith(("/api/", "/response/", "/upload/")):
        return None
    raw = exchange.body()
    args: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
    headers = {k: v for k, v in exchange.handler.headers.items()}
    if path.startswith("/upload/"):  # the file's bytes, as sent
        method = "file_upload"
        args.update({"_file_id": path[len("/upload/") :], "_raw": raw.decode("utf-8", "replace"), "_bytes": raw})
    else:
        args.update(parse_body(exchange.header("Content-Type"), raw))
        if path.startswith("/response/"):
            method = "response_url"
            args["_key"] = path[len("/response/") :]
        else:
            method = path[len("/api/") :]
    token: str | None = None
    auth = exchange.header("Authorization")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip() or None
    if token is None and isinstance(args.get("token"), str):
        token = args["token"]
    return ApiRequest(method, args, token, path, headers, arrived)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections when a batch opens dozens at once (a restart
    # posting 36 check-ins); Slack's front door takes them all.
    request_queue_size = 128

    def __init__(self, owner: SlackServer, port: int):
        self.owner = owner
        super().__init__((HOST, port), _Handler)

    def handle_error(self, request, client_address):  # quiet: clients that time out hang up
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by http.server
        pass

    def do_POST(self):
        self.server.owner.handle(Exchange(self))

    do_GET = do_POST
    do_PUT = do_POST
    do_DELETE = do_POST


class SlackServer(ServedInThread):
    """Slack's side on ``127.0.0.1:<port>`` (0: any free port) for ``workspace``; see the module docstring."""

    thread_name = "local-slack"

    def __init__(self, workspace: Workspace | None = None, *, port: int = 0, page: Page | None = None) -> None:
        super().__init__()
        self.workspace = workspace or Workspace()
        self.api = WebAPI(self.workspace)
        self.page = page
        self._port = port
        self.run_token = secrets.token_urlsafe(16)  # this run's: in every URL handed out for a hook or a file

    def _make_server(self) -> _Server:
        server = _Server(self, self._port)
        self.api.base = f"http://{HOST}:{server.server_address[1]}/run/{self.run_token}/"
        return server

    def _serve(self, server: _Server) -> None:
        server.serve_forever(poll_interval=0.05)

    def _close(self, server: _Server) -> None:
        server.shutdown()
        server.server_close()

    @property
    def port(self) -> int:
        return int(self._started().server_address[1])

    @property
    def base(self) -> str:
        """http://127.0.0.1:<port>/ (no path)."""
        return f"http://{HOST}:{self.port}/"

    @property
    def url(self) -> str:
        """The Web API base URL to give coprod as SLACK_API_URL: http://127.0.0.1:<port>/api/."""
        return f"{self.base}api/"

    def response_url(self, key: str = "r1") -> str:
        """A new response URL, issued as Slack issues one with each interaction (5 posts, 30 minutes); the
        posts to it are recorded with ``_key`` = ``key``, so several URLs may share a key. It carries this run's
        token, as every URL the stand-in hands out does."""
        return self.workspace.new_hook(Hook("", "", label=key), self.api.base)

    def carry_out(self, request: ApiRequest, team: str | None = None) -> tuple[int, Any, dict[str, str], bool]:
        """The call counted against Slack's limits for ``team`` (the workspace's, by default), then carried out:
        (status, answer, extra headers, whether the answer is JSON). A refusal's answer is its text."""
        try:
            channel = str(request.args.get("channel") or "")
            self.api.limits.check(team or self.workspace.team_id, request.method, channel)
            answer = self.api.answer(request.method, request.args, request.token)
            return access.http_status(request.method, answer), answer, {}, True
        except SlackRefusal as refusal:
            body: Any = json.loads(refusal.body) if refusal.json_body else refusal.body
            return refusal.status, body, refusal.headers, refusal.json_body

    def _refusal(self, exchange: Exchange) -> str | None:
        """Why this request may not be answered (see the module docstring), or None; strips the run token."""
        allowed = {f"{HOST}:{self.port}", f"localhost:{self.port}"}
        if exchange.header("Host") not in allowed:
            return "wrong_host"
        origin = exchange.header("Origin")
        if origin and origin not in {f"http://{h}" for h in allowed}:
            return "cross_site"
        path = urlsplit(exchange.path).path
        prefix = f"/run/{self.run_token}/"
        if path.startswith(prefix):
            exchange.handler.path = "/" + exchange.path[len(prefix) :]
        elif path.startswith(("/response/", "/upload/", "/run/")):
            return "invalid_token"
        path = urlsplit(exchange.path).path
        if path.startswith("/upload/"):
            record = self.workspace.files.get(path[len("/upload/") :])
            if record is not None and record.get("complete"):
                return "upload_complete"
        return None

    def handle(self, exchange: Exchange) -> None:
        refused = self._refusal(exchange)
        if refused is not None:
            exchange.body()  # read what was sent, so the connection closes cleanly
            status = {"wrong_host": 421, "cross_site": 421, "upload_complete": 409}.get(refused, 403)
            exchange.send_json(status, {"ok": False, "error": refused})
            return
        request = parse_api_request(exchange)
        if request is not None:
            self.handle_api(exchange, request)
        elif self.page is None or not self.page.handle(exchange):
            self.handle_other(exchange, urlsplit(exchange.path).path)

    def handle_api(self, exchange: Exchange, request: ApiRequest) -> None:
        status, answer, headers, is_json = self.carry_out(request)
        if is_json:
            exchange.send_json(status, answer, headers)
        else:
            exchange.send(status, str(answer).encode("utf-8"), "text/plain; charset=utf-8", headers)

    def handle_other(self, exchange: Exchange, path: str) -> None:
        exchange.send_json(404, {"ok": False, "error": "not_found"})
