"""A stand-in for Slack's Web API on loopback that records every call.

The bot is pointed at ``SlackStub().url`` (its SLACK_API_URL); slack_sdk's WebClient then posts to
``<url><method>`` exactly as it would to https://slack.com/api/. Every request is recorded as a
:class:`Call`, and answered the way Slack answers it. Faults (errors, rate limits, 5xx, slowness, a post
Slack takes but never answers) can be queued per method. Nothing is pre-populated: tests add the users and
channels they need. Messages posted are kept, per channel, and ``conversations.history`` reads them back
(newest first, with their ``metadata`` when asked for ``include_all_metadata``); a message's ``ts`` follows
the stub's clock (the test's, when given), as Slack's follows real time.

    with SlackStub() as slack:
        slack.add_user("U1", tz="Europe/Paris")
        ...  # run the bot with SLACK_API_URL=slack.url
        [call] = slack.wait_for("chat.postMessage")
        assert call.args["channel"] == "C1"
        blocks = call.json("blocks")
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.support.serving import ServedInThread

TEAM_ID = "T1"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"

_MISSING = object()


@dataclass
class Call:
    """One request the stub received.

    ``args`` holds the request's arguments: query-string values, then form values (strings, so JSON-valued
    fields such as ``blocks`` or ``view`` stay JSON strings) or the JSON body object (values as sent).
    Use :meth:`json` to read a JSON-valued field whichever way it arrived.
    """

    method: str
    args: dict[str, Any]
    token: str | None = None
    time: float = 0.0
    status: int = 200
    response: dict[str, Any] | None = None
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self, name: str, default: Any = _MISSING) -> Any:
        """The field ``name`` json-decoded if it arrived as a string, as-is otherwise."""
        if name not in self.args:
            if default is _MISSING:
                raise KeyError(f"{self.method} call has no {name!r}; args: {sorted(self.args)}")
            return default
        value = self.args[name]
        if isinstance(value, str | bytes):
            return json.loads(value)
        return value


@dataclass
class _Fault:
    kind: str  # "fail" | "rate_limit" | "server_error" | "delay" | "answer" | "drop" | "hold"
    error: str = ""
    status: int = 200
    retry_after: int = 0
    seconds: float = 0.0
    channel: str | None = None  # only calls for this channel, when set
    answer: dict[str, Any] | None = None  # for "answer": the whole JSON answer
    accepted: bool = False  # "server_error", "hold": the call is carried out (a post is made) first
    released: threading.Event | None = None  # for "hold": when to answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, stub: SlackStub):
        self.stub = stub
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address):  # quiet: clients that time out hang up
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by http.server
        pass

    def do_POST(self):
        self.server.stub._handle(self)

    do_GET = do_POST
    do_PUT = do_POST
    do_DELETE = do_POST


def _tz_offset(tz: str) -> int:
    try:
        offset = datetime.now(UTC).astimezone(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int | None:
    if not cursor:
        return 0
    try:
        text = base64.b64decode(str(cursor).encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith("offset:") or not text[7:].isdigit():
        return None
    return int(text[7:])


class SlackStub(ServedInThread):
    """Slack's Web API on 127.0.0.1:<random port>, recording each call. See the module docstring."""

    thread_name = "slack-stub"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.clock = clock  # seconds since the epoch, for the ts of each message
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        # Where apps.connections.open sends a Socket Mode client (a test's WebSocket server).
        self.socket_mode_url: str | None = None
        self._last_ts = 0  # in microseconds: each message's ts is later than the one before
        self._history: dict[str, list[dict[str, Any]]] = {}  # channel -> its messages, oldest first
        self._view_counter = itertools.count(1)
        # OAuth (several workspaces): codes people's "Allow" gave, tokens issued for them, tokens revoked.
        self.oauth_client: tuple[str, str] | None = None  # (client id, secret) oauth.v2.access insists on, if set
        self._codes: dict[str, dict[str, Any]] = {}
        self._installed: dict[str, dict[str, Any]] = {}  # bot token -> its workspace's installation
        self._revoked: set[str] = set()

    # ------------------------------------------------------------------ lifecycle
    def _make_server(self) -> _Server:
        return _Server(self)

    def _serve(self, server: _Server) -> None:
        server.serve_forever(poll_interval=0.05)

    def _close(self, server: _Server) -> None:
        server.shutdown()
        server.server_close()

    @property
    def port(self) -> int:
        return self._started().server_address[1]

    @property
    def base(self) -> str:
        """http://127.0.0.1:<port>/ (no path)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def url(self) -> str:
        """The Web API base URL to give the bot as SLACK_API_URL: http://127.0.0.1:<port>/api/."""
        return f"{self.base}api/"

    def response_url(self, key: str = "r1") -> str:
        """A URL that takes JSON POSTs as Slack's response_url does; recorded as method "response_url"."""
        return f"{self.base}response/{key}"

    # ------------------------------------------------------------------ state
    def add_user(
        self,
        user_id: str,
        *,
        tz: str = "Europe/London",
        is_admin: bool = False,
        is_owner: bool = False,
        name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        real_name: str | None = None,
        display_name: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a user that users.info / users.list answer with. Returns the user object."""
        name = name or user_id.lower()
        real_name = real_name or name.replace(".", " ").title()
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": _tz_offset(tz),
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "deleted": deleted,
            "profile": {"display_name": display_name if display_name is not None else name, "real_name": real_name},
        }
        with self._cond:
            self._users[user_id] = user
        return user

    def add_channel(
        self, channel_id: str, members: list[str], name: str = "partnership", archived: bool = False
    ) -> None:
        """Add (or replace) a channel that conversations.* and users.conversations answer with."""
        with self._cond:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "members": list(members),
                "archived": archived,
            }

    # ------------------------------------------------------------------ faults
    def _queue(self, method: str, fault: _Fault, times: int) -> None:
        with self._cond:
            self._faults.setdefault(method, deque()).extend(fault for _ in range(times))

    def fail(self, method: str, error: str = "channel_not_found", times: int = 1, channel: str | None = None) -> None:
        """The next ``times`` calls to ``method`` (for ``channel``, if given) answer {"ok": false, "error": error}."""
        self._queue(method, _Fault("fail", error=error, status=200, channel=channel), times)

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer HTTP 429 with Retry-After and error "ratelimited"."""
        self._queue(method, _Fault("rate_limit", error="ratelimited", status=429, retry_after=retry_after), times)

    def server_error(self, method: str, status: int = 500, times: int = 1, *, accepted: bool = False) -> None:
        """The next ``times`` calls to ``method`` answer HTTP ``status`` with a non-JSON body.

        ``accepted``: the call is carried out first (a message is posted) and only its answer is the error,
        as when Slack takes a post and fails afterwards: the caller can't tell whether it happened."""
        self._queue(method, _Fault("server_error", status=status, accepted=accepted), times)

    def drop(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` are carried out (a message is posted), then the connection
        is closed with no answer at all: a post Slack took while the caller hears nothing."""
        self._queue(method, _Fault("drop"), times)

    def answer(self, method: str, response: dict[str, Any], times: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer exactly ``response`` (say, an "ok" missing a field)."""
        self._queue(method, _Fault("answer", answer=response), times)

    def delay(self, method: str, seconds: float, times: int = 1, channel: str | None = None) -> None:
        """The next ``times`` calls to ``method`` (for ``channel``, if given) are carried out at once and
        answered after ``seconds`` (longer than the caller's timeout: a post made that the caller never hears of)."""
        self._queue(method, _Fault("delay", seconds=seconds, channel=channel), times)

    def hold(self, method: str, *, accepted: bool, channel: str | None = None) -> threading.Event:
        """The next call to ``method`` (for ``channel``, if given) gets no answer until the returned event is
        set (at most 30 s), as if its caller had died waiting. ``accepted``: the call was carried out (a message
        posted) and is then answered as usual; otherwise nothing happened and the connection is closed."""
        released = threading.Event()
        self._queue(method, _Fault("hold", accepted=accepted, released=released, channel=channel), 1)
        return released

    # ------------------------------------------------------------------ OAuth: several workspaces
    def grant(
        self, team: str, *, installer: str = "U1", team_name: str | None = None, bot_user: str | None = None
    ) -> str:
        """A person of ``team`` pressed "Allow" on Slack's install page: the one-time ``code`` Slack sends to the
        app's redirect URL. ``oauth.v2.access`` exchanges it once, as Slack does, for a new bot token of that
        workspace (a code used twice is ``invalid_code``); ``auth.test`` with that token answers for the workspace
        and its bot user (``bot_user``, default ``UBOT<team>``)."""
        code = f"code-{team}-{next(self._view_counter)}"
        with self._cond:
            self._codes[code] = {
                "team": {"id": team, "name": team_name or f"Workspace {team}"},
                "installer": installer,
                "bot_user": bot_user or f"UBOT{team}",
            }
        return code

    def revoke(self, team: str) -> None:
        """The workspace removed the app: every token issued for it answers ``token_revoked`` from now on."""
        with self._cond:
            self._revoked.update(t for t, i in self._installed.items() if i["team"]["id"] == team)

    def tokens_of(self, team: str) -> list[str]:
        """The bot tokens issued for ``team``, oldest first (revoked ones too)."""
        with self._cond:
            return [t for t, i in self._installed.items() if i["team"]["id"] == team]

    def _oauth_answer(
        self, method: str, token: str | None, args: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any] | None:
        """Slack's answer where OAuth decides it (a code exchanged, a revoked or issued token); None otherwise."""
        with self._cond:
            if token in self._revoked:
                return {"ok": False, "error": "token_revoked"}
            if method == "auth.test" and token in self._installed:
                i = self._installed[token]
                team = i["team"]["id"]
                return {
                    "ok": True,
                    "url": f"https://{team.lower()}.slack.com/",
                    "team": i["team"]["name"],
                    "user": "coprod",
                    "team_id": team,
                    "user_id": i["bot_user"],
                    "bot_id": "B" + i["bot_user"],
                    "is_enterprise_install": False,
                }
            if method != "oauth.v2.access":
                return None
            client_id, secret = args.get("client_id"), args.get("client_secret")
            basic = headers.get("Authorization", "")
            if basic.lower().startswith("basic "):  # Slack prefers the credentials as HTTP Basic auth
                client_id, _, secret = base64.b64decode(basic[6:].strip()).decode("utf-8").partition(":")
            if self.oauth_client is not None and client_id != self.oauth_client[0]:
                return {"ok": False, "error": "invalid_client_id"}
            if self.oauth_client is not None and secret != self.oauth_client[1]:
                return {"ok": False, "error": "bad_client_secret"}
            grant = self._codes.pop(str(args.get("code") or ""), None)
            if grant is None:
                return {"ok": False, "error": "invalid_code"}
            team = grant["team"]["id"]
            token = f"xoxb-{team}-{len(self._installed) + 1}-{next(self._view_counter):08d}"
            self._installed[token] = grant
            return {
                "ok": True,
                "app_id": "A1",
                "authed_user": {"id": grant["installer"]},
                "scope": "commands,chat:write",
                "token_type": "bot",
                "access_token": token,
                "bot_user_id": grant["bot_user"],
                "team": dict(grant["team"]),
                "enterprise": None,
                "is_enterprise_install": False,
            }

    # ------------------------------------------------------------------ inspection
    @property
    def calls(self) -> list[Call]:
        """A snapshot of every recorded call, in arrival order."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self._calls if c.method == method]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, where: Callable[[Call], bool] | None = None
    ) -> list[Call]:
        """Block until ``count`` calls to ``method`` (matching ``where``) arrived; return them all."""
        deadline = time.monotonic() + timeout

        def matching() -> list[Call]:
            return [c for c in self._calls if c.method == method and (where is None or where(c))]

        with self._cond:
            while True:
                found = matching()
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self._calls]
                    raise AssertionError(
                        f"expected {count} call(s) to {method}"
                        f"{' matching the filter' if where else ''} within {timeout}s, got {len(found)}; "
                        f"calls seen: {seen}"
                    )
                self._cond.wait(remaining)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages now in ``channel`` (a user id for a DM), oldest first, as Slack keeps them."""
        with self._cond:
            return json.loads(json.dumps(self._history.get(self._dm_for(channel), [])))

    def reset(self) -> None:
        """Forget recorded calls and pending faults (users, channels and messages stay)."""
        with self._cond:
            self._calls.clear()
            self._faults.clear()

    # ------------------------------------------------------------------ HTTP
    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _next_fault(self, method: str, channel: str) -> _Fault | None:
        with self._cond:
            queue = self._faults.get(method)
            for fault in queue or ():
                if fault.channel is None or fault.channel == channel:
                    queue.remove(fault)
                    return fault
            return None

    @staticmethod
    def _parse_body(handler: _Handler, raw: bytes) -> dict[str, Any]:
        ctype = handler.headers.get("Content-Type", "")
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
                if not name:
                    continue
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    args[name] = payload
                else:
                    args[name] = payload.decode("utf-8", "replace")
            return args
        # application/x-www-form-urlencoded (and anything unlabelled)
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))

    def _handle(self, handler: _Handler) -> None:
        arrived = time.time()
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length > 0 else b""
        args: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        args.update(self._parse_body(handler, raw))
        headers = {k: v for k, v in handler.headers.items()}

        token: str | None = None
        auth = handler.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None
        if token is None and isinstance(args.get("token"), str):
            token = args["token"]

        path = parts.path
        if path.startswith("/api/") and len(path) > len("/api/"):
            method = path[len("/api/") :]
        elif path.startswith("/response/"):
            method = "response_url"
            args["_key"] = path[len("/response/") :]
        elif path.startswith("/upload/"):
            # Where files.getUploadURLExternal sends the file's bytes.
            method = "file_upload"
            args["_file_id"] = path[len("/upload/") :]
            args["_raw"] = raw.decode("utf-8", "replace")
            args["_bytes"] = raw
        else:
            call = Call(method=path, args=args, token=token, time=arrived, status=404, path=path, headers=headers)
            call.response = {"ok": False, "error": "not_found"}
            self._record(call)
            self._send(handler, 404, call.response)
            return

        fault = self._next_fault(method, str(args.get("channel") or ""))
        oauth = None if fault is not None else self._oauth_answer(method, token, args, headers)
        if oauth is not None:
            fault = _Fault("answer", answer=oauth)
        extra_headers: dict[str, str] = {}
        status = 200
        text_body: bytes | None = None
        if fault is not None and fault.kind == "server_error":
            if fault.accepted:
                self._answer(method, args)  # carried out; only its answer is lost
            status = fault.status
            response = {"ok": False, "error": "fatal_error"}
            text_body = f"<html><body>{status} server error</body></html>".encode()
        elif fault is None or fault.kind in ("delay", "drop") or (fault.kind == "hold" and fault.accepted):
            response = self._answer(method, args)
        elif fault.kind == "hold":
            response = {}  # never sent: nothing was carried out, and the connection closes unanswered
        elif fault.kind == "fail":
            response = {"ok": False, "error": fault.error}
        elif fault.kind == "answer":
            response = dict(fault.answer or {})
        else:  # rate_limit
            status = 429
            response = {"ok": False, "error": "ratelimited"}
            extra_headers["Retry-After"] = str(fault.retry_after)

        call = Call(
            method=method,
            args=args,
            token=token,
            time=arrived,
            status=status,
            response=response,
            path=path,
            headers=headers,
        )
        self._record(call)
        if fault is not None and fault.kind == "hold" and fault.released is not None:
            fault.released.wait(30)
        if fault is not None and (fault.kind == "drop" or (fault.kind == "hold" and not fault.accepted)):
            handler.close_connection = True  # closed with nothing written: the caller hears no answer
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if text_body is not None:
            self._send_raw(handler, status, text_body, "text/html", extra_headers)
        else:
            self._send(handler, status, response, extra_headers)

    @staticmethod
    def _send(handler: _Handler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        SlackStub._send_raw(
            handler, status, json.dumps(body).encode("utf-8"), "application/json; charset=utf-8", headers
        )

    @staticmethod
    def _send_raw(
        handler: _Handler, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. a timeout test)

    # ------------------------------------------------------------------ answers
    def _next_ts(self) -> str:
        # Slack's ts is its clock's time, unique in a channel; here each is also later than the last.
        micro = max(int(self.clock() * 1_000_000), self._last_ts + 100)
        self._last_ts = micro
        return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"

    def _kept(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self._history.get(channel, []) if m["ts"] == ts), None)

    def _history_page(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        """conversations.history: newest first, within (oldest, latest) (inclusive if asked), paged by cursor;
        each message's ``metadata`` only with ``include_all_metadata``."""
        if channel not in self._channels and channel not in self._history:
            return {"ok": False, "error": "channel_not_found"}
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or "inf")
        except ValueError:
            return {"ok": False, "error": "invalid_ts_oldest"}
        inclusive = _truthy(args.get("inclusive", False))

        def within(message: dict[str, Any]) -> bool:
            ts = float(message["ts"])
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        chosen = [m for m in reversed(self._history.get(channel, [])) if within(m)]
        paged = self._page(chosen, args)
        if paged is None:
            return {"ok": False, "error": "invalid_cursor"}
        page, nxt = paged
        with_metadata = _truthy(args.get("include_all_metadata", False))
        messages = [{k: v for k, v in m.items() if with_metadata or k != "metadata"} for m in page]
        return {
            "ok": True,
            "messages": json.loads(json.dumps(messages)),
            "has_more": bool(nxt),
            "pin_count": 0,
            "response_metadata": {"next_cursor": nxt},
        }

    @staticmethod
    def _maybe_json(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    @staticmethod
    def _dm_for(channel: str) -> str:
        # Posting to a user ID lands in the bot's DM with that user, as on Slack.
        if channel[:1] in {"U", "W"}:
            return "D" + channel
        return channel

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": args.get("text", ""),
            "ts": ts,
            "team": TEAM_ID,
        }
        if "blocks" in args:
            message["blocks"] = self._maybe_json(args["blocks"])
        if "attachments" in args:
            message["attachments"] = self._maybe_json(args["attachments"])
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if "metadata" in args:
            message["metadata"] = self._maybe_json(args["metadata"])
        return message

    def _view(self, args: dict[str, Any], view_id: str, default_type: str = "modal") -> dict[str, Any]:
        view = self._maybe_json(args.get("view", {}))
        if not isinstance(view, dict):
            view = {}
        out = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view.get("type", default_type),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", args.get("external_id", "")),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{view_id}",
            "root_view_id": view_id,
            "app_id": "A1",
            "bot_id": BOT_ID,
        }
        for key in ("title", "submit", "close"):
            if key in view:
                out[key] = view[key]
        return out

    def _channel_obj(self, ch: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": ch["id"],
            "name": ch["name"],
            "is_channel": not ch["id"].startswith("G"),
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": ch["id"].startswith("G"),
            "is_archived": ch["archived"],
            "is_general": False,
            "is_member": BOT_USER_ID in ch["members"],
            "num_members": len(ch["members"]),
            "created": 1_700_000_000,
            "context_team_id": TEAM_ID,
        }

    @staticmethod
    def _page(items: list[Any], args: dict[str, Any], default_limit: int = 100) -> tuple[list[Any], str] | None:
        start = _decode_cursor(args.get("cursor"))
        if start is None:
            return None
        try:
            limit = int(args.get("limit") or default_limit)
        except (TypeError, ValueError):
            limit = default_limit
        limit = max(1, limit)
        page = items[start : start + limit]
        nxt = _encode_cursor(start + limit) if start + limit < len(items) else ""
        return page, nxt

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            return self._answer_locked(method, args)

    def _answer_locked(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        channel = str(args.get("channel") or "")

        if method in ("response_url", "file_upload"):
            return ok
        if method == "apps.connections.open":
            if not self.socket_mode_url:
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": self.socket_mode_url}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._view_counter):08d}"
            return {"ok": True, "upload_url": f"{self.base}upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = json.loads(str(args.get("files") or "[]"))
            return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title", "")} for f in files]}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://t1.slack.com/",
                "team": "Team One",
                "user": "coprod",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method in {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete"}:
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            known = self._channels.get(channel)
            if known is not None and known["archived"]:
                return {"ok": False, "error": "is_archived"}
            if method == "chat.postMessage":
                ts = self._next_ts()
                message = self._message(args, ts)
                self._history.setdefault(self._dm_for(channel), []).append(message)
                copy = json.loads(json.dumps(message))
                return {"ok": True, "channel": self._dm_for(channel), "ts": ts, "message": copy}
            if method == "chat.update":
                ts = str(args.get("ts") or "")
                if not ts:
                    return {"ok": False, "error": "message_not_found"}
                kept = self._kept(channel, ts)  # a ts the stub never gave out is answered ok, as before
                if kept is not None:
                    kept.update({k: v for k, v in self._message(args, ts).items() if k in args})
                return {
                    "ok": True,
                    "channel": channel,
                    "ts": ts,
                    "text": args.get("text", ""),
                    "message": self._message(args, ts),
                }
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": self._next_ts()}
            kept = self._kept(channel, str(args.get("ts") or ""))
            if kept is not None:
                self._history[channel].remove(kept)
            return {"ok": True, "channel": channel, "ts": str(args.get("ts") or "")}
        if method == "views.publish":
            user = str(args.get("user_id") or "")
            return {"ok": True, "view": self._view(args, f"VH{user}", default_type="home")}
        if method in {"views.open", "views.push"}:
            return {"ok": True, "view": self._view(args, f"V{next(self._view_counter):08d}")}
        if method == "views.update":
            view_id = str(args.get("view_id") or "") or f"V{next(self._view_counter):08d}"
            return {"ok": True, "view": self._view(args, view_id)}
        if method == "users.info":
            user = self._users.get(str(args.get("user") or ""))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": json.loads(json.dumps(user))}
        if method == "users.list":
            paged = self._page(list(self._users.values()), args, default_limit=200)
            if paged is None:
                return {"ok": False, "error": "invalid_cursor"}
            members, nxt = paged
            return {"ok": True, "members": json.loads(json.dumps(members)), "response_metadata": {"next_cursor": nxt}}
        if method == "conversations.members":
            ch = self._channels.get(channel)
            if ch is None:
                return {"ok": False, "error": "channel_not_found"}
            paged = self._page(ch["members"], args)
            if paged is None:
                return {"ok": False, "error": "invalid_cursor"}
            members, nxt = paged
            return {"ok": True, "members": members, "response_metadata": {"next_cursor": nxt}}
        if method == "conversations.history":
            return self._history_page(channel, args)
        if method == "conversations.info":
            ch = self._channels.get(channel)
            if ch is not None:
                return {"ok": True, "channel": self._channel_obj(ch)}
            if channel.startswith("D") and len(channel) > 1:
                return {
                    "ok": True,
                    "channel": {"id": channel, "is_im": True, "user": channel[1:], "is_org_shared": False},
                }
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.open":
            users = [u for u in str(args.get("users") or "").split(",") if u]
            if channel:
                return {"ok": True, "channel": {"id": channel}}
            if not users:
                return {"ok": False, "error": "users_list_not_supplied"}
            cid = "D" + users[0] if len(users) == 1 else "G" + "".join(users)
            return {"ok": True, "channel": {"id": cid}}
        if method == "users.conversations":
            user = str(args.get("user") or BOT_USER_ID)
            types = str(args.get("types") or "public_channel")
            exclude_archived = _truthy(args.get("exclude_archived", False))
            chans = [
                self._channel_obj(ch)
                for ch in self._channels.values()
                if user in ch["members"] and not (exclude_archived and ch["archived"])
            ]
            if "public_channel" not in types and "private_channel" not in types:
                chans = []
            paged = self._page(chans, args)
            if paged is None:
                return {"ok": False, "error": "invalid_cursor"}
            page, nxt = paged
            return {"ok": True, "channels": page, "response_metadata": {"next_cursor": nxt}}
        return ok
