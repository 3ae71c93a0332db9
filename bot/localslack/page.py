"""The local workspace's page: a browser's view of the workspace, as one member at a time sees it.

Routes (on the stand-in's own port, 127.0.0.1 only):

- ``GET /``, ``/page.js``, ``/page.css``: the page, a small script of our own and its styles (``static/``).
- ``GET /ui/view?user=U&conv=C&after=N&boot=B``: what ``user`` sees in conversation ``C`` (a channel, their DM
  with coprod, or ``home``), the open modal and the member switcher, as JSON with each message rendered to HTML
  (``render``). With ``after``, it waits (up to 25 s) until the workspace has changed since version N: the
  page's live updates are this long poll. ``boot`` names this run; a page that knew another (coprod restarted
  since) is answered at once, and starts afresh.
- ``POST /ui/act``: what the member did (typed, clicked, submitted a modal, opened Home, dismissed an
  ephemeral message), as JSON; carried out by :class:`SlackSide`.
- ``GET /files/<id>/<name>``: a file coprod uploaded (the export), as a download.

Only requests addressed to 127.0.0.1 or localhost at this port are answered (no DNS rebinding), and a POST
must be JSON from this page (no cross-site form can send one). Every page response says: scripts and styles
from here only (Content-Security-Policy), no sniffing, no referrer.
"""

from __future__ import annotations

import json
import secrets
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.localslack import render, slacktext
from bot.localslack.server import Exchange
from bot.localslack.slackside import SLACKBOT, SlackSide
from bot.localslack.workspace import BOT_USER_ID, Workspace, dm_of

HOME = "home"
LONG_POLL = 25.0
STATIC = {
    "/": ("index.html", "text/html"),
    "/page.js": ("page.js", "text/javascript"),
    "/page.css": ("page.css", "text/css"),
}
SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: http: https:; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ACTS = ("type", "click", "submit", "close", "home", "dismiss")


class LocalPage:
    """See the module docstring. ``timezone``: how the page shows times."""

    def __init__(self, side: SlackSide, timezone: str = "Europe/London") -> None:
        self.side = side
        self.ws: Workspace = side.ws
        self.timezone = timezone
        self.port = 0  # set once the server is bound: the only Host it answers to
        self.boot = secrets.token_hex(8)  # this run: a page open across a restart sees it change
        self._cache: dict[tuple[str, str, int], str] = {}
        self.names = slacktext.Names(
            user=self._user_name, channel=self._channel_name, people=self._people, conversations=self._channels
        )

    def _user_name(self, user: str) -> str:
        if user == BOT_USER_ID:
            return "coprod"
        if user == SLACKBOT:
            return "Slackbot"
        found = self.ws.users.get(user)
        return str(found.get("real_name") or user) if found else user

    def _people(self) -> list[tuple[str, str]]:
        """Whom a users select lists: the workspace's members (called with the lock held, while rendering)."""
        return sorted(((u, self._user_name(u)) for u in self.people_ids()), key=lambda pair: pair[1].lower())

    def _channels(self) -> list[tuple[str, str]]:
        """What a conversations or channels select lists: the workspace's open channels."""
        return [(c["id"], f"#{c['name']}") for c in self.ws.channels.values() if not c["archived"]]

    def _channel_name(self, channel: str) -> str:
        found = self.ws.channels.get(channel)
        return str(found["name"]) if found else channel

    # ---- routing ---------------------------------------------------------------------------------------
    def handle(self, exchange: Exchange) -> bool:
        parts = urlsplit(exchange.path)
        path = parts.path
        if path not in STATIC and not path.startswith(("/ui/", "/files/")):
            return False
        if not self._ours(exchange):
            exchange.send(421, b"This page answers at 127.0.0.1 only.\n", "text/plain", SECURITY)
            return True
        if path in STATIC and exchange.method == "GET":
            name, ctype = STATIC[path]
            data = resources.files("bot.localslack").joinpath("static").joinpath(name).read_bytes()
            exchange.send(200, data, f"{ctype}; charset=utf-8", SECURITY)
        elif path == "/ui/view" and exchange.method == "GET":
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            self._view(exchange, query)
        elif path == "/ui/act" and exchange.method == "POST":
            self._act(exchange)
        elif path.startswith("/files/") and exchange.method == "GET":
            self._file(exchange, path)
        else:
            exchange.send_json(405, {"ok": False, "error": "method_not_allowed"}, SECURITY)
        return True

    def _ours(self, exchange: Exchange) -> bool:
        host = exchange.header("Host")
        allowed = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        if host not in allowed:
            return False
        origin = exchange.header("Origin")
        return exchange.method == "GET" or origin in ("", *(f"http://{h}" for h in allowed))

    # ---- what a member sees ------------------------------------------------------------------------------
    def _view(self, exchange: Exchange, query: dict[str, str]) -> None:
        try:
            after = int(query.get("after", "-1"))
        except ValueError:
            after = -1
        # A page from before a restart (another boot) is answered at once, so that it starts afresh.
        if after >= 0 and query.get("boot") == self.boot:
            self.ws.wait_for_change(after, LONG_POLL)
        user = query.get("user", "")
        with self.ws.lock:
            if user not in self.people_ids():
                user = self.people_ids()[0] if self.people_ids() else ""
            exchange_body = self.view(user, query.get("conv", ""))
        exchange.send_json(200, exchange_body, SECURITY)

    def people_ids(self) -> list[str]:
        return [u for u, info in self.ws.users.items() if not info.get("is_bot") and not info.get("deleted")]

    def conversations(self, user: str) -> list[dict[str, str]]:
        chans = [
            {"id": c["id"], "label": f"# {c['name']}", "kind": "channel"}
            for c in self.ws.channels.values()
            if user in c["members"] and not c["archived"]
        ]
        return [
            *chans,
            {"id": HOME, "label": "coprod · Home", "kind": "home"},
            {"id": dm_of(user), "label": "coprod · Messages", "kind": "dm"},
        ]

    def view(self, user: str, conv: str) -> dict[str, Any]:
        """What ``user`` sees of ``conv`` now (call with the lock held)."""
        convs = self.conversations(user)
        if conv not in {c["id"] for c in convs}:
            conv = convs[0]["id"]
        people = [
            {"id": u, "name": self._user_name(u), "title": str(self.ws.users[u]["profile"].get("title", ""))}
            for u in self.people_ids()
        ]
        out: dict[str, Any] = {
            "version": self.ws.version,
            "boot": self.boot,
            "user": user,
            "conv": conv,
            "people": people,
            "conversations": convs,
            "messages": [],
            "home": None,
            "modal": None,
        }
        if conv == HOME:
            home = self.ws.homes.get(user)
            out["home"] = {"rev": self.ws.home_revs.get(user, 0), "html": render.home(home, self.names)}
        else:
            out["messages"] = self._messages(user, conv)
        mine = [m for m in self.ws.modals.values() if m.user == user]
        if mine:
            top = mine[-1]
            html = render.modal(top.view, self.names, top.errors)
            out["modal"] = {"id": top.view["id"], "rev": top.rev, "html": html}
        return out

    def _messages(self, user: str, conv: str) -> list[dict[str, Any]]:
        shown: list[tuple[float, dict[str, Any]]] = []
        if len(self._cache) > 5000:
            self._cache.clear()
        for message in self.ws.history.get(conv, []):
            ts = message["ts"]
            rev = self.ws.revs.get((conv, ts), 1)
            html = self._cache.get((conv, ts, rev))
            if html is None:
                html = self._render(message, ts, ephemeral=False)
                self._cache[(conv, ts, rev)] = html
            shown.append((float(ts), {"key": ts, "rev": rev, "html": html}))
        for e in self.ws.ephemerals:
            if e.conv == conv and e.user == user:
                html = self._render(e.message, e.key, ephemeral=True)
                shown.append((float(e.message["ts"]), {"key": e.key, "rev": e.rev, "html": html}))
        return [item for _, item in sorted(shown, key=lambda pair: pair[0])]

    def _render(self, message: dict[str, Any], key: str, *, ephemeral: bool) -> str:
        author = str(message.get("user", ""))
        is_app = author == BOT_USER_ID or "bot_id" in message
        return render.message(
            message,
            key=key,
            author=self._user_name(author),
            is_app=is_app,
            names=self.names,
            timezone=self.timezone,
            ephemeral=ephemeral,
        )

    # ---- what a member does ------------------------------------------------------------------------------
    def _act(self, exchange: Exchange) -> None:
        if not exchange.header("Content-Type").lower().startswith("application/json"):
            exchange.send_json(415, {"ok": False, "error": "send JSON"}, SECURITY)
            return
        try:
            act = json.loads(exchange.body().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            act = None
        problem = self._problem(act)
        if problem:
            exchange.send_json(400, {"ok": False, "error": problem}, SECURITY)
            return
        assert isinstance(act, dict)
        user, kind, side = act["user"], act["act"], self.side

        def text(name: str) -> str:
            return str(act.get(name) or "")

        if kind == "type":
            side.type(user, text("conv"), text("text")[:4000], _mentions(act.get("mentions")))
        elif kind == "click":
            chosen = act.get("selected")
            selected = chosen if isinstance(chosen, str | list) else None
            side.click(user, text("where"), text("key"), text("block_id"), text("action_id"), text("value"), selected)
        elif kind == "submit":
            values = act.get("values")
            side.submit(user, text("view_id"), values if isinstance(values, dict) else {})
        elif kind == "close":
            side.close(user, text("view_id"))
        elif kind == "home":
            side.open_home(user)
        else:
            side.dismiss(user, text("key"))
        exchange.send_json(200, {"ok": True}, SECURITY)

    def _problem(self, act: Any) -> str | None:
        if not isinstance(act, dict) or act.get("act") not in ACTS:
            return f"act must be one of {', '.join(ACTS)}"
        with self.ws.lock:
            if act.get("user") not in self.people_ids():
                return "no such member"
            if act["act"] == "type":
                convs = {c["id"] for c in self.conversations(act["user"])} - {HOME}
                if act.get("conv") not in convs:
                    return "you can't write there"
        return None

    def _file(self, exchange: Exchange, path: str) -> None:
        file_id = path[len("/files/") :].split("/", 1)[0]
        with self.ws.lock:
            record = self.ws.files.get(file_id)
        if record is None or not record.get("complete"):
            exchange.send(404, b"No such file.\n", "text/plain", SECURITY)
            return
        name = "".join(ch for ch in str(record["name"]) if ch.isalnum() or ch in "._-") or "file"
        # A picture is shown in the page; anything else (an export, a report) is a download.
        how = "inline" if name.endswith(".png") else "attachment"
        headers = {**SECURITY, "Content-Disposition": f'{how}; filename="{name}"'}
        ctype = {".csv": "text/csv; charset=utf-8", ".png": "image/png"}.get(name[-4:], "application/octet-stream")
        exchange.send(200, bytes(record["content"]), ctype, headers)


def _mentions(given: Any) -> list[tuple[str, str]]:
    """The members picked from the message box's @ list: (how the mention reads, their id), at most 50."""
    if not isinstance(given, list):
        return []
    return [
        (str(m["label"])[:200], str(m["id"]))
        for m in given[:50]
        if isinstance(m, dict) and isinstance(m.get("label"), str) and isinstance(m.get("id"), str)
    ]
