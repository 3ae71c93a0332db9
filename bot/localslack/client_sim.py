"""Slack's requests sent to an app: signed and POSTed (:func:`post`), what the app answered (:class:`Reply`), and
:class:`SlackClientSim`, which builds a request with ``signed``'s builders, signs and posts it in one call."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.localslack.signed import (
    action_body,
    command_body,
    event_body,
    sign,
    url_verification_body,
    view_submission_body,
)


class Headers(dict):
    """A dict of response headers whose lookups ignore case (keys are stored lower-cased)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__((str(k).lower(), v) for k, v in dict(items).items())

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


def post(
    url: str,
    body: bytes,
    content_type: str,
    secret: str,
    *,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
    bad_signature: bool = False,
    timeout: float = 10.0,
) -> tuple[int, Headers, bytes]:
    """Sign ``body`` and POST it; return (status, headers, body) for any status, 4xx/5xx included.
    A timeout or a refused connection raises ``OSError``, as urllib does."""
    signed = sign(secret, body, timestamp)
    if bad_signature:
        signed["X-Slack-Signature"] = sign(secret + "-wrong", body, timestamp)["X-Slack-Signature"]
    all_headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    all_headers.update(signed)
    all_headers.update(headers or {})
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, Headers(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, Headers(err.headers.items()), err.read()


@dataclass
class Reply:
    """What the bot answered."""

    status: int
    headers: Headers
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def acknowledged(self) -> bool:
        """Whether Slack counts this as acknowledged: a 200 (over HTTP), an ack in time (over Socket Mode)."""
        return self.status == 200

    def json(self) -> Any:
        """The body json-decoded; None for an empty body (a bare ack)."""
        if not self.body.strip():
            return None
        return json.loads(self.body)


_POST_KW = ("timestamp", "headers", "bad_signature")


def with_trigger(kw: dict[str, Any], triggers: Callable[[str], str] | None) -> dict[str, Any]:
    """``kw`` with a trigger_id issued for its ``user`` (U1 by default, as the builders'), unless it names one."""
    if triggers is not None and "trigger_id" not in kw:
        kw = {**kw, "trigger_id": triggers(str(kw.get("user", "U1")))}
    return kw


class SlackClientSim:
    """Slack's side of the conversation: builds, signs and posts to ``<base_url>slack/events``.

    Keyword arguments go to the builder, except ``timestamp``, ``headers`` and ``bad_signature``,
    which go to :func:`post`. :class:`socket_mode_sim.SocketModeSim` has the same methods over Socket Mode.
    """

    def __init__(
        self, base_url: str, secret: str, path: str = "slack/events", triggers: Callable[[str], str] | None = None
    ) -> None:
        """``triggers``: Slack's side issuing a trigger_id for a person (``SlackStub.trigger``), put in each
        command, click and submission that doesn't name one, as Slack puts a fresh one in each."""
        self.base_url = base_url
        self.secret = secret
        self.url = base_url.rstrip("/") + "/" + path.lstrip("/")
        self.triggers = triggers

    def send(self, body: bytes, content_type: str, **post_kw: Any) -> Reply:
        status, headers, data = post(self.url, body, content_type, self.secret, **post_kw)
        return Reply(status, headers, data)

    def _go(self, built: tuple[bytes, str], post_kw: dict[str, Any]) -> Reply:
        return self.send(*built, **post_kw)

    @staticmethod
    def _split(kw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        post_kw = {k: kw.pop(k) for k in _POST_KW if k in kw}
        return kw, post_kw

    def command(self, text: str, **kw: Any) -> Reply:
        kw, post_kw = self._split(with_trigger(kw, self.triggers))
        return self._go(command_body(text, **kw), post_kw)

    def click(self, action_id: str, value: str | None, **kw: Any) -> Reply:
        kw, post_kw = self._split(with_trigger(kw, self.triggers))
        return self._go(action_body(action_id, value, **kw), post_kw)

    def submit(self, callback_id: str, values: dict[str, Any], **kw: Any) -> Reply:
        kw, post_kw = self._split(with_trigger(kw, self.triggers))
        return self._go(view_submission_body(callback_id, values, **kw), post_kw)

    def event(
        self, event: dict[str, Any], *, retry_attempt: int | None = None, retry_reason: str | None = None, **kw: Any
    ) -> Reply:
        """A ``retry_attempt`` of 1 or more marks Slack's redelivery: X-Slack-Retry-Num/-Reason headers."""
        kw, post_kw = self._split(kw)
        if retry_attempt:
            retry = {"X-Slack-Retry-Num": str(retry_attempt), "X-Slack-Retry-Reason": retry_reason or "http_timeout"}
            post_kw["headers"] = {**retry, **(post_kw.get("headers") or {})}
        return self._go(event_body(event, **kw), post_kw)

    def url_verification(self, challenge: str, **kw: Any) -> Reply:
        kw, post_kw = self._split(kw)
        return self._go(url_verification_body(challenge, **kw), post_kw)
