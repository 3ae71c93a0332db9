"""The tests' Slack: the local workspace's Slack stand-in (``bot.localslack``), recording every call, with
faults on demand.

The bot is pointed at ``SlackStub().url`` (its SLACK_API_URL); slack_sdk's WebClient then posts to
``<url><method>`` exactly as it would to https://slack.com/api/. The Web API itself, its answers and what it
keeps (people, channels, messages, views, files) are the package's :class:`bot.localslack.server.SlackServer`,
the same one ``coprod run`` serves a local workspace with. On top, this module records every request as a
:class:`Call` and can queue faults per method (errors, rate limits, 5xx, slowness, a post Slack takes but
never answers). Slack's own rules hold as on Slack (docs/rules.md, "The Slack stand-in's rules"): a trigger
must come from :meth:`SlackStub.trigger` (the tests' Slack side puts one in each interaction), a response URL
from :meth:`SlackStub.response_url`, and rate limits are on (calls they refuse are kept in ``limited``, not
``calls``). Nothing is pre-populated: tests add the users and channels they need. A message's ``ts``
follows the stub's clock (the test's, when given), as Slack's follows real time.

    with SlackStub() as slack:
        slack.add_user("U1", tz="Europe/Paris")
        ...  # run the bot with SLACK_API_URL=slack.url
        [call] = slack.wait_for("chat.postMessage")
        assert call.args["channel"] == "C1"
        blocks = call.json("blocks")
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.localslack.server import ApiRequest, Exchange, SlackServer
from bot.localslack.workspace import BOT_ID, BOT_USER_ID, TEAM_ID, Workspace

__all__ = ["BOT_ID", "BOT_USER_ID", "TEAM_ID", "Call", "SlackStub"]

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


def _manifest_bot_scopes() -> list[str]:
    """The bot scopes of coprod's app (manifest.json): what a person allows when adding it."""
    manifest = json.loads((Path(__file__).resolve().parents[2] / "manifest.json").read_text(encoding="utf-8"))
    return list(manifest["oauth_config"]["scopes"]["bot"])


class SlackStub(SlackServer):
    """Slack's Web API on 127.0.0.1:<random port>, recording each call. See the module docstring."""

    thread_name = "slack-stub"

    def __init__(
        self, clock: Callable[[], float] = time.time, *, marketplace: bool = True, rate_limits: bool = True
    ) -> None:
        """``marketplace`` False: coprod as an app distributed outside the Slack Marketplace (conversations.history
        once a minute, 15 messages a page). ``rate_limits`` False: no method is rate limited (only for a bench
        measuring coprod's own throughput); Slack's limits are on by default, as on Slack (bot/localslack/limits.py)."""
        super().__init__(Workspace(clock=clock))
        self.api.limits.marketplace = marketplace
        self.api.limits.enabled = rate_limits
        self.limited: list[Call] = []  # calls answered 429 by Slack's own limits (kept out of ``calls``)
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._faults: dict[str, deque[_Fault]] = {}
        # OAuth (several workspaces): codes people's "Allow" gave, tokens issued for them, tokens revoked.
        self.oauth_client: tuple[str, str] | None = None  # (client id, secret) oauth.v2.access insists on, if set
        self._codes: dict[str, dict[str, Any]] = {}
        self._installed: dict[str, dict[str, Any]] = {}  # bot token -> its workspace's installation
        self._revoked: set[str] = set()
        self._oauth_counter = itertools.count(1)
        self.api.bot_user_of = self._bot_user_of

    @property
    def clock(self) -> Callable[[], float]:
        """Seconds since the epoch, for the ts of each message."""
        return self.workspace.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.workspace.clock = clock

    @property
    def socket_mode_url(self) -> str | None:
        """Where apps.connections.open sends a Socket Mode client (a test's WebSocket server)."""
        return self.api.socket_mode_url

    @socket_mode_url.setter
    def socket_mode_url(self, url: str | None) -> None:
        self.api.socket_mode_url = url

    # ------------------------------------------------------------------ state
    def add_user(self, user_id: str, **kw: Any) -> dict[str, Any]:
        """Add (or replace) a user that users.info / users.list answer with (see ``Workspace.add_user``)."""
        return self.workspace.add_user(user_id, **kw)

    def add_channel(
        self, channel_id: str, members: list[str], name: str = "partnership", archived: bool = False
    ) -> None:
        """Add (or replace) a channel that conversations.* and users.conversations answer with."""
        self.workspace.add_channel(channel_id, members, name=name, archived=archived)

    def grant_only(self, *scopes: str) -> None:
        """The app was granted only ``scopes`` (not manifest.json's): other calls answer ``missing_scope``."""
        with self.workspace.lock:
            self.workspace.scopes = set(scopes)

    def _bot_user_of(self, token: str | None) -> str:
        """The bot user a token acts as: an installed workspace's, or the one workspace's ``UBOT``."""
        with self._cond:
            installed = self._installed.get(token or "")
        return str(installed["bot_user"]) if installed else BOT_USER_ID

    # ------------------------------------------------------------------ faults
    def _queue(self, method: str, fault: _Fault, times: int) -> None:
        with self._cond:
            self._faults.setdefault(method, deque()).extend(fault for _ in range(times))

    def fail(self, method: str, error: str = "channel_not_found", times: int = 1, channel: str | None = None) -> None:
        """The next ``times`` calls to ``method`` (for ``channel``, if given) answer {"ok": false, "error": error}."""
        self._queue(method, _Fault("fail", error=error, status=200, channel=channel), times)

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1, channel: str | None = None) -> None:
        """The next ``times`` calls to ``method`` (for ``channel``, if given) answer HTTP 429 with Retry-After and
        error "ratelimited"."""
        fault = _Fault("rate_limit", error="ratelimited", status=429, retry_after=retry_after, channel=channel)
        self._queue(method, fault, times)

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

    # ------------------------------------------------------------------ interactions
    def trigger(self, user: str) -> str:
        """A trigger_id issued for an interaction by ``user``, as Slack puts in each command, click and submission
        (good for one views.open or views.push within 3 s)."""
        return self.workspace.new_trigger(user)

    def open_response_urls(self, prefix: str = "") -> str:
        """For the benches, which build each click's response URL as ``<this><key>`` (in another process, where
        none can be issued): from now on any response URL is taken as issued on its first post (its 5 posts
        and 30 minutes still count), recorded with ``_key`` = ``<prefix><key>``."""
        self.api.open_hooks = True
        return f"{self.api.base}response/{prefix}"  # the run's token in it, as in every URL the stand-in gives

    @property
    def marketplace(self) -> bool:
        """False: an app distributed outside the Slack Marketplace (see ``__init__``)."""
        return self.api.limits.marketplace

    @marketplace.setter
    def marketplace(self, value: bool) -> None:
        self.api.limits.marketplace = value

    # ------------------------------------------------------------------ inspection
    # ------------------------------------------------------------------ OAuth: several workspaces
    def grant(
        self,
        team: str,
        *,
        installer: str = "U1",
        team_name: str | None = None,
        bot_user: str | None = None,
        enterprise: str | None = None,
        rotating: bool = False,
    ) -> str:
        """A person of ``team`` pressed "Allow" on Slack's install page: the one-time ``code`` Slack sends to the
        app's redirect URL. ``oauth.v2.access`` exchanges it once, as Slack does, for a new bot token of that
        workspace (a code used twice is ``invalid_code``); ``auth.test`` with that token answers for the workspace
        and its bot user (``bot_user``, default ``UBOT<team>``).

        ``enterprise``: the workspace belongs to that Enterprise Grid organization (installed in this one
        workspace, not organization-wide). ``rotating``: the app has token rotation on, so the answer carries a
        refresh token and an expiry beside an ``xoxe.xoxb-`` token."""
        code = f"code-{team}-{next(self._oauth_counter)}"
        with self._cond:
            self._codes[code] = {
                "team": {"id": team, "name": team_name or f"Workspace {team}"},
                "installer": installer,
                "bot_user": bot_user or f"UBOT{team}",
                "enterprise": {"id": enterprise, "name": f"Organization {enterprise}"} if enterprise else None,
                "rotating": rotating,
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
                answer = {
                    "ok": True,
                    "url": f"https://{team.lower()}.slack.com/",
                    "team": i["team"]["name"],
                    "user": "coprod",
                    "team_id": team,
                    "user_id": i["bot_user"],
                    "bot_id": "B" + i["bot_user"],
                    "is_enterprise_install": False,
                }
                if i["enterprise"]:  # a Grid workspace's token: https://docs.slack.dev/reference/methods/auth.test
                    answer["enterprise_id"] = i["enterprise"]["id"]
                return answer
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
            # With token rotation on, Slack issues an expiring token (xoxe.xoxb-…) and a refresh token (xoxe-…):
            # https://docs.slack.dev/authentication/using-token-rotation
            prefix = "xoxe.xoxb" if grant["rotating"] else "xoxb"
            token = f"{prefix}-{team}-{len(self._installed) + 1}-{next(self._oauth_counter):08d}"
            self._installed[token] = grant
            # oauth.v2.access's answer (https://docs.slack.dev/reference/methods/oauth.v2.access): a workspace of
            # an Enterprise Grid organization has "enterprise" set and is_enterprise_install false; only an
            # organization-wide install has "team" null and is_enterprise_install true
            # (https://api.slack.com/enterprise/apps/reference).
            answer: dict[str, Any] = {
                "ok": True,
                "app_id": "A1",
                "authed_user": {"id": grant["installer"]},
                "scope": ",".join(_manifest_bot_scopes()),  # what the app asks for, all granted
                "token_type": "bot",
                "access_token": token,
                "bot_user_id": grant["bot_user"],
                "team": dict(grant["team"]),
                "enterprise": dict(grant["enterprise"]) if grant["enterprise"] else None,
                "is_enterprise_install": False,
            }
            if grant["rotating"]:
                answer.update(expires_in=43_200, refresh_token=f"xoxe-1-{team}-{next(self._oauth_counter):08d}")
            return answer

    def _as_installed_bot(self, method: str, response: dict[str, Any], token: str | None) -> dict[str, Any]:
        """conversations.info's ``is_member`` is the asking token's bot's membership
        (https://docs.slack.dev/reference/methods/conversations.info): with a token OAuth issued, that bot is the
        workspace's own, not the one-workspace bot the shared channels are otherwise seen by."""
        with self._cond:
            installed = self._installed.get(token or "")
        channel = response.get("channel") if method == "conversations.info" and response.get("ok") else None
        if installed is None or not isinstance(channel, dict) or "is_member" not in channel:
            return response
        members = (self.workspace.channels.get(str(channel.get("id"))) or {}).get("members") or []
        return {**response, "channel": {**channel, "is_member": installed["bot_user"] in members}}

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
        return self.workspace.messages(channel)

    def reset(self) -> None:
        """Forget recorded calls and pending faults (users, channels and messages stay, and so do the rate
        limits' counts: Slack's minute goes on)."""
        with self._cond:
            self._calls.clear()
            self.limited.clear()
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

    def _team_of(self, token: str | None) -> str:
        """The workspace a token was issued for (Slack counts rate limits per workspace)."""
        with self._cond:
            installed = self._installed.get(token or "")
        return str(installed["team"]["id"]) if installed else self.workspace.team_id

    def handle_other(self, exchange: Exchange, path: str) -> None:
        call = Call(method=path, args={}, time=time.time(), status=404, path=path)
        call.response = {"ok": False, "error": "not_found"}
        self._record(call)
        exchange.send_json(404, call.response)

    def handle_api(self, exchange: Exchange, request: ApiRequest) -> None:
        method, args = request.method, request.args
        fault = self._next_fault(method, str(args.get("channel") or ""))
        oauth = None if fault is not None else self._oauth_answer(method, request.token, args, request.headers)
        if oauth is not None:
            fault = _Fault("answer", answer=oauth)
        extra_headers: dict[str, str] = {}
        status = 200
        text_body: bytes | None = None
        team = self._team_of(request.token)
        if fault is not None and fault.kind == "server_error":
            if fault.accepted:
                self.carry_out(request, team)  # carried out; only its answer is lost
            status = fault.status
            response: dict[str, Any] = {"ok": False, "error": "fatal_error"}
            text_body = f"<html><body>{status} server error</body></html>".encode()
        elif fault is None or fault.kind in ("delay", "drop") or (fault.kind == "hold" and fault.accepted):
            status, answer, extra_headers, is_json = self.carry_out(request, team)
            response = (
                self._as_installed_bot(method, answer, request.token) if is_json else {"ok": False, "error": answer}
            )
            if not is_json:
                text_body = str(answer).encode("utf-8")
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

        if method == "response_url":  # recorded under the test's name for it, when it has one
            hook = self.workspace.hooks.get(str(args.get("_key") or ""))
            label = hook.label if hook is not None and hook.label else args.get("_key")
            args = {**args, "_hook": args.get("_key"), "_key": label}
        call = Call(
            method=method,
            args=args,
            token=request.token,
            time=request.arrived,
            status=status,
            response=response,
            path=request.path,
            headers=request.headers,
        )
        if fault is None and status == 429:
            with self._cond:
                self.limited.append(call)
                self._cond.notify_all()
        else:
            self._record(call)
        if fault is not None and fault.kind == "hold" and fault.released is not None:
            fault.released.wait(30)
        if fault is not None and (fault.kind == "drop" or (fault.kind == "hold" and not fault.accepted)):
            exchange.hang_up()
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if text_body is not None:
            ctype = "text/html" if fault is not None else "text/plain; charset=utf-8"
            exchange.send(status, text_body, ctype, extra_headers)
        else:
            exchange.send_json(status, response, extra_headers)
