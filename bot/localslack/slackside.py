"""Slack's side of the conversation with the app: what people do on the page, sent to coprod as Slack sends it.

A slash command, a click, a modal's Submit, a mention and opening the Home tab each become the request Slack
would send (built and signed by ``bot.localslack.signed``), POSTed to the app's request URL with Slack's 3 s
patience; the app's answer is then shown as Slack shows it: a command's reply as an ephemeral message, a
modal's ``response_action`` (errors, update, push, clear), and a failure as Slackbot's note. The app's
follow-ups (response URLs, Web API calls) come back through the same workspace. The lock is never held
while the app is asked, since the app calls back into the workspace meanwhile.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from bot.localslack import access, client_sim, picked, signed
from bot.localslack.webapi import WebAPI
from bot.localslack.workspace import BOT_USER_ID, Hook, Modal, Workspace, dm_of

SLACKBOT = "USLACKBOT"
PATIENCE = 3.0  # Slack gives an app 3 seconds to answer
TIMED_OUT, UNREACHABLE = -1, 0  # no HTTP status: the app didn't answer in time, or nobody was listening
COMMAND = "/coprod"
REQUIRED = "Please complete this required field."
# "@coprod" typed in the composer, as a mention of the app.
AT_APP = re.compile(r"(?<![\w@])@coprod\b", re.IGNORECASE)


def slack_escape(text: str) -> str:
    """What Slack does to typed text: its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackSide:
    """See the module docstring. ``events_url`` is the app's request URL (``…/slack/events``)."""

    def __init__(self, api: WebAPI, secret: str, events_url: str = "") -> None:
        self.api = api
        self.ws: Workspace = api.ws
        self.secret = secret
        self.events_url = events_url

    # ---- sending --------------------------------------------------------------------------------------
    def _send(self, built: tuple[bytes, str]) -> tuple[int, bytes]:
        try:
            status, _, data = client_sim.post(self.events_url, *built, self.secret, timeout=PATIENCE)
        except OSError as exc:  # no answer within Slack's patience, or nobody listening
            timed_out = isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError)
            return (TIMED_OUT if timed_out else UNREACHABLE), b""
        return status, data

    def _slackbot(self, conv: str, user: str, text: str) -> None:
        message = {"type": "message", "user": SLACKBOT, "text": text, "ts": self.ws.next_ts(), "team": self.ws.team_id}
        self.ws.add_ephemeral(conv, user, message)

    def _people(self) -> list[str]:
        """The workspace's members, whom a users select offers (not its bots, not those deactivated)."""
        return [u for u, info in self.ws.users.items() if not info.get("is_bot") and not info.get("deleted")]

    def _name(self, user: str) -> str:
        return str(self.ws.users.get(user, {}).get("name", user.lower()))

    def _channel_name(self, conv: str) -> str:
        return "directmessage" if conv.startswith("D") else str(self.ws.channels.get(conv, {}).get("name", conv))

    # ---- what people do -------------------------------------------------------------------------------
    def type(self, user: str, conv: str, text: str, mentions: Collection[tuple[str, str]] = ()) -> None:
        """Whatever was typed in the composer: a slash command, or a message (a mention of coprod among them).
        ``mentions``: (how it reads, user id) of each member picked from the composer's @ list."""
        text = text.strip()
        if not text:
            return
        if text.startswith("/"):
            word, _, rest = text.partition(" ")
            if word.lower() != COMMAND:
                self._slackbot(conv, user, f"`{slack_escape(word)}` is not a command here. Try `/coprod help`.")
                return
            self.command(user, conv, self._encode(rest.strip(), mentions, command=True))
            return
        self.say(user, conv, self._encode(text, mentions, command=False))

    def _encode(self, text: str, mentions: Collection[tuple[str, str]], *, command: bool) -> str:
        """Typed text as Slack sends it: ``&``, ``<`` and ``>`` escaped, and each picked member as a mention,
        ``<@U…>`` in a message, ``<@U…|name>`` in a command's text since coprod's command asks Slack to escape
        users (``should_escape`` in manifest.json). Slack: https://api.slack.com/reference/surfaces/formatting#escaping
        and https://api.slack.com/interactivity/slash-commands (Escape channels, users, and links)."""
        escaped = slack_escape(text)
        known = {slack_escape(label): ident for label, ident in mentions if ident in self.ws.users and label}
        if not known:
            return escaped
        pattern = re.compile("|".join(re.escape(label) for label in sorted(known, key=len, reverse=True)))

        def one(match: re.Match[str]) -> str:
            ident = known[match.group(0)]
            return f"<@{ident}|{self._name(ident)}>" if command else f"<@{ident}>"

        return pattern.sub(one, escaped)

    def command(self, user: str, conv: str, text: str) -> None:
        """``/coprod text`` (``text`` as Slack sends it: escaped, mentions encoded); coprod's answer shown as
        Slack shows it, or, when coprod doesn't answer, Slackbot's note saying so."""
        url = self.ws.new_hook(Hook(conv, user), self.api.base)
        built = signed.command_body(
            text,
            user=user,
            channel=conv,
            team=self.ws.team_id,
            response_url=url,
            trigger_id=self.ws.new_trigger(user),
            user_name=self._name(user),
            channel_name=self._channel_name(conv),
        )
        status, data = self._send(built)
        if status != 200:
            # Slack's words: "operation_timeout" when the app took over 3 s, "dispatch_failed" when it couldn't
            # be reached (https://github.com/slackapi/bolt-python/issues/951, a Slack engineer's answer).
            error = "operation_timeout" if status == TIMED_OUT else "dispatch_failed"
            self._slackbot(conv, user, f'`/coprod` failed with the error "{error}"')
            return
        reply = _json(data)
        if reply is None and data.strip():
            reply = {"text": data.decode("utf-8", "replace")}
        if isinstance(reply, dict) and "blocks" in reply and access.blocks_refusal(self.ws, "response_url", reply):
            # Slack takes an acknowledgement's message as it takes a response URL's, and refuses it alike
            self._slackbot(conv, user, '`/coprod` failed with the error "invalid_blocks"')
            return
        if isinstance(reply, dict) and (reply.get("text") or reply.get("blocks")):
            message = self.api.bot_message(reply, self.ws.next_ts())
            if reply.get("response_type") == "in_channel":
                self.ws.add_message(conv, message)
            else:
                self.ws.add_ephemeral(conv, user, message)

    def say(self, user: str, conv: str, text: str) -> None:
        """A message from ``user`` (``text`` as Slack keeps it: escaped, mentions encoded); one that mentions
        coprod in a channel is an ``app_mention`` event."""
        escaped = AT_APP.sub(f"<@{BOT_USER_ID}>", text)
        ts = self.ws.next_ts()
        self.ws.add_message(conv, {"type": "message", "user": user, "text": escaped, "ts": ts, "team": self.ws.team_id})
        if f"<@{BOT_USER_ID}>" in escaped and not conv.startswith("D"):
            event = {
                "type": "app_mention",
                "user": user,
                "text": escaped,
                "ts": ts,
                "channel": conv,
                "event_ts": ts,
                "team": self.ws.team_id,
            }
            self._event(event)

    def open_home(self, user: str) -> None:
        event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": dm_of(user), "tab": "home"}
        event["event_ts"] = self.ws.next_ts()
        with self.ws.lock:
            if user in self.ws.homes:
                event["view"] = self.ws.homes[user]
        self._event(event)

    def _event(self, event: dict[str, Any]) -> None:
        built = signed.event_body(event, team=self.ws.team_id, event_id="Ev" + self.ws.new_id("E")[1:])
        self._send(built)  # Slack retries events; a lost one here is simply lost, and nobody is told

    def click(
        self, user: str, where: str, key: str, block_id: str, action_id: str, value: str, selected: Any = None
    ) -> None:
        """A button pressed, or (``selected`` given: an option's value, a user or conversation id, a date, or a
        list of them) a select, picker, overflow menu or checkbox changed: on message ``key`` in conversation
        ``where``, an ephemeral message ``key``, or a view (``where`` is "view", ``key`` its id: App Home, or a
        modal)."""
        with self.ws.lock:
            action: dict[str, Any] = {"type": "button", "block_id": block_id}
            kw: dict[str, Any] = {"user": user, "team": self.ws.team_id, "user_name": self._name(user)}
            kw.update(block_id=block_id, trigger_id=self.ws.new_trigger(user))
            if where == "view":
                kw.update(container_type="view", view_id=key)
                conv = dm_of(user)
                modal = self.ws.modals.get(key)
                home = self.ws.homes.get(user)
                view = modal.view if modal is not None else home if home and home.get("id") == key else {}
                shown_blocks = view.get("blocks")
            else:
                conv = where
                shown = self.ws.ephemeral(key)
                kept = self.ws.find(where, key)
                if shown is not None and shown.user == user:
                    hook = Hook(where, user, source_ephemeral=key)
                    kw.update(channel=where, message_ts=shown.message["ts"], is_ephemeral=True)
                    shown_blocks = shown.message.get("blocks")
                elif kept is not None:
                    hook = Hook(where, user, source_ts=key)
                    kw.update(channel=where, message_ts=key, message_text=kept.get("text", ""))
                    kw.update(message_blocks=kept.get("blocks") or [])
                    shown_blocks = kept.get("blocks")
                else:
                    return  # gone meanwhile (edited away, or dismissed)
                kw["response_url"] = self.ws.new_hook(hook, self.api.base)
            if selected is not None:
                # What travels is what Slack knows of the element and the pick, never the page's own words.
                el = _element(shown_blocks, block_id, action_id)
                if el is None:
                    return
                entry, _ = picked.entry(el, selected, people=self._people(), conversations=self.ws.channels)
                action, value = {**entry, "block_id": block_id}, ""
            kw["action"] = action
        status, _ = self._send(signed.action_body(action_id, value or None, **kw))
        if status != 200:
            self._slackbot(conv, user, "coprod didn't manage to handle that click. Please try again in a moment.")

    def submit(self, user: str, view_id: str, values: dict[str, Any]) -> None:
        """A modal's Submit, with what the person entered (``{block_id: value or [values]}``): Slack's own
        checks first (required fields, lengths), then the app's answer."""
        with self.ws.lock:
            modal = self.ws.modals.get(view_id)
            if modal is None or modal.user != user:
                return
            state, errors = _state(modal.view, values, self._people(), self.ws.channels)
            if errors:
                modal.errors, modal.rev = errors, modal.rev + 1
                self.ws.changed()
                return
            built = signed.view_submission_body(
                str(modal.view.get("callback_id", "")),
                state,
                private_metadata=str(modal.view.get("private_metadata", "")),
                user=user,
                team=self.ws.team_id,
                view_id=view_id,
                user_name=self._name(user),
                trigger_id=self.ws.new_trigger(user),
                view=modal.view,
            )
        status, data = self._send(built)
        with self.ws.lock:
            if self.ws.modals.get(view_id) is not modal:
                return
            if status != 200:
                modal.errors, modal.rev = {"": "We had some trouble connecting. Try again?"}, modal.rev + 1
                self.ws.changed()
                return
            self._after_submit(user, modal, _json(data))

    def _after_submit(self, user: str, modal: Modal, answer: Any) -> None:
        action = answer.get("response_action") if isinstance(answer, dict) else None
        view_id = str(modal.view.get("id"))
        if action in ("update", "push") and access.blocks_refusal(self.ws, "views.update", answer):
            # https://docs.slack.dev/surfaces/modals: a response_action's view is held to the views.* rules;
            # Slack keeps the modal open and says it couldn't go on
            modal.errors, modal.rev = {"": "We had some trouble connecting. Try again?"}, modal.rev + 1
            self.ws.changed()
            return
        if action == "errors" and isinstance(answer.get("errors"), dict):
            modal.errors = {str(k): str(v) for k, v in answer["errors"].items()}
        elif action == "update" and isinstance(answer.get("view"), dict):
            modal.view = self.api.view_object({"view": answer["view"]}, view_id)
            modal.errors = {}
        elif action == "push" and isinstance(answer.get("view"), dict):
            pushed = self.api.view_object({"view": answer["view"]}, self.ws.new_id("V"))
            self.ws.modals[pushed["id"]] = Modal(pushed, user)
        elif action == "clear":
            for other in [v for v, m in self.ws.modals.items() if m.user == user]:
                del self.ws.modals[other]
        else:  # an empty acknowledgement closes the view
            del self.ws.modals[view_id]
        modal.rev += 1
        self.ws.changed()

    def close(self, user: str, view_id: str) -> None:
        with self.ws.lock:
            modal = self.ws.modals.get(view_id)
            if modal is not None and modal.user == user:
                del self.ws.modals[view_id]
                self.ws.changed()

    def dismiss(self, user: str, key: str) -> None:
        with self.ws.lock:
            shown = self.ws.ephemeral(key)
            if shown is not None and shown.user == user:
                self.ws.drop_ephemeral(key)


def _element(blocks: Any, block_id: str, action_id: str) -> dict[str, Any] | None:
    """The element ``action_id`` of block ``block_id`` (in an actions block, or a section's accessory)."""
    for b in blocks if isinstance(blocks, list) else []:
        if not isinstance(b, dict) or str(b.get("block_id", "")) != block_id:
            continue
        found = [*b.get("elements", []), b.get("accessory")] if isinstance(b.get("elements", []), list) else []
        for el in found:
            if isinstance(el, dict) and str(el.get("action_id", "")) == action_id:
                return el
    return None


def _json(data: bytes) -> Any:
    try:
        return json.loads(data) if data.strip() else None
    except ValueError:
        return None


def _state(
    view: dict[str, Any], values: dict[str, Any], people: Collection[str] = (), conversations: Collection[str] = ()
) -> tuple[dict[str, Any], dict[str, str]]:
    """Slack's ``state.values`` for the view's inputs filled in with ``values`` (each element's own
    ``selected_*`` key: ``picked.entry``), and the errors Slack itself shows before sending anything (a
    required field left empty, text over its length)."""
    state: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for b in view.get("blocks", []):
        if not isinstance(b, dict) or b.get("type") != "input" or not isinstance(b.get("element"), dict):
            continue
        el, block_id = b["element"], str(b.get("block_id", ""))
        action_id = str(el.get("action_id", ""))
        given = values.get(block_id)
        entry, empty = picked.entry(el, given, people=people, conversations=conversations)
        limit = el.get("max_length")
        text = given if el.get("type") == "plain_text_input" and isinstance(given, str) else ""
        if isinstance(limit, int) and len(text) > limit:
            errors[block_id] = f"Please use {limit} characters or fewer (this has {len(text)})."
        if empty and not b.get("optional"):
            errors[block_id] = REQUIRED
        state[block_id] = {action_id: entry}
    return state, errors
