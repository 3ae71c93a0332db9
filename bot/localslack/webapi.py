"""Slack's Web API methods that coprod calls, answered from a :class:`Workspace` in Slack's documented shapes.

``WebAPI.answer(method, args)`` is one call: ``args`` as Slack receives them (form values are strings, so
JSON-valued fields such as ``blocks`` arrive as JSON text; a JSON body keeps its types). A method Slack
has but this stand-in doesn't is ``unknown_method``, as Slack answers a method it doesn't know. Two
answers are not Web API methods: ``response_url`` (a POST to an interaction's response URL) and
``file_upload`` (the bytes sent to the URL files.getUploadURLExternal gave). Slack's rate limits are counted
by the server before a call is answered (``limits``, ``SlackServer.carry_out``). People and conversations
(``conversations``) and file uploads (``uploads``) are methods of their own modules that ``WebAPI`` takes in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.localslack import access
from bot.localslack.calls import Answer, maybe_json, truthy
from bot.localslack.conversations import ConversationMethods
from bot.localslack.limits import RateLimits, SlackRefusal
from bot.localslack.uploads import FileMethods
from bot.localslack.workspace import APP_ID, BOT_ID, BOT_USER_ID, HOOK_SECONDS, Hook, Modal, Workspace, copy, dm_of


class WebAPI(ConversationMethods, FileMethods):
    """The methods; see the module docstring. ``base`` is the server's address, for the URLs it hands out."""

    def __init__(self, workspace: Workspace, base: str = "http://127.0.0.1/") -> None:
        self.ws = workspace
        self.base = base
        self.socket_mode_url: str | None = None  # where apps.connections.open sends a Socket Mode client
        self.limits = RateLimits()  # per-method tiers, counted by the server before a call is carried out
        self.short_pages = True  # users.list, users.conversations, conversations.members: first page short
        # Benches build response URLs from a prefix in another process, so none is issued there: with this
        # set, an unknown one is taken as issued on first use (its 5 uses and 30 minutes still count).
        self.open_hooks = False
        self.bot_user_of: Callable[[str | None], str] = lambda token: BOT_USER_ID  # whose token it is
        self.methods: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "auth.test": self.auth_test,
            "apps.connections.open": self.connections_open,
            "chat.postMessage": self.chat_post,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_ephemeral,
            "chat.delete": self.chat_delete,
            "views.publish": self.views_publish,
            "views.open": lambda args: self.views_open(args, replacing=True),
            "views.push": lambda args: self.views_open(args, replacing=False),
            "views.update": self.views_update,
            "users.info": self.users_info,
            "users.list": self.users_list,
            "users.conversations": self.users_conversations,
            "conversations.members": self.conversations_members,
            "conversations.info": self.conversations_info,
            "conversations.open": self.conversations_open,
            "conversations.history": self.conversations_history,
            "files.getUploadURLExternal": self.files_get_upload_url,
            "files.completeUploadExternal": self.files_complete_upload,
        }

    def answer(self, method: str, args: dict[str, Any], token: str | None = None) -> Answer:
        """Carry out ``method`` and answer as Slack does."""
        with self.ws.lock:
            if method == "response_url":
                return access.blocks_refusal(self.ws, method, args) or self.response_url(args)
            if method == "file_upload":
                return self.file_upload(args)
            handler = self.methods.get(method)
            if handler is None:
                return {"ok": False, "error": "unknown_method"}
            if self.ws.bot_token is not None and token != self.ws.bot_token:
                return {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
            return access.refusal(self.ws, method, args, self.bot_user_of(token)) or handler(args)

    # ---- identity ------------------------------------------------------------------------------------
    def auth_test(self, args: dict[str, Any]) -> Answer:
        return {
            "ok": True,
            "url": f"https://{self.ws.team_id.lower()}.slack.com/",
            "team": self.ws.team_name,
            "user": "coprod",
            "team_id": self.ws.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def connections_open(self, args: dict[str, Any]) -> Answer:
        if not self.socket_mode_url:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.socket_mode_url}

    # ---- chat ----------------------------------------------------------------------------------------
    def bot_message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": args.get("text", ""),
            "ts": ts,
            "team": self.ws.team_id,
        }
        for key in ("blocks", "attachments", "metadata"):
            if key in args:
                message[key] = maybe_json(args[key])
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        return message

    def _conversation(self, args: dict[str, Any]) -> tuple[str, Answer | None]:
        """The conversation a chat.* call names (a user id means their DM), or Slack's refusal."""
        channel = str(args.get("channel") or "")
        if not channel:
            return "", {"ok": False, "error": "channel_not_found"}
        known = self.ws.channels.get(channel)
        if known is not None and known["archived"]:
            return "", {"ok": False, "error": "is_archived"}
        return (dm_of(channel) if channel[:1] in {"U", "W"} else channel), None

    def chat_post(self, args: dict[str, Any]) -> Answer:
        conv, refused = self._conversation(args)
        if refused:
            return refused
        message = self.ws.add_message(conv, self.bot_message(args, self.ws.next_ts()))
        return {"ok": True, "channel": conv, "ts": message["ts"], "message": copy(message)}

    def chat_update(self, args: dict[str, Any]) -> Answer:
        conv, refused = self._conversation(args)
        ts = str(args.get("ts") or "")
        if refused or not ts:
            return refused or {"ok": False, "error": "message_not_found"}
        given = self.bot_message(args, ts)
        # https://docs.slack.dev/reference/methods/chat.update: a ts never given out is message_not_found;
        # blocks not given are kept ("If you don't include this field, the message's previous blocks will be
        # retained. To remove previous blocks, include an empty array"), and so is metadata.
        kept = self.ws.edit(conv, ts, {k: v for k, v in given.items() if k in args})
        if kept is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": conv, "ts": ts, "text": args.get("text", ""), "message": copy(kept)}

    def chat_ephemeral(self, args: dict[str, Any]) -> Answer:
        conv, refused = self._conversation(args)
        if refused:
            return refused
        user = str(args.get("user") or "")
        message = self.bot_message(args, self.ws.next_ts())
        if user:
            self.ws.add_ephemeral(conv, user, message)
        return {"ok": True, "message_ts": message["ts"]}

    def chat_delete(self, args: dict[str, Any]) -> Answer:
        conv, refused = self._conversation(args)
        if refused:
            return refused
        ts = str(args.get("ts") or "")
        if not self.ws.delete(conv, ts):  # https://docs.slack.dev/reference/methods/chat.delete
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": conv, "ts": ts}

    def response_url(self, args: dict[str, Any]) -> Answer:
        """A POST to a response_url: replace or delete the message it came from, post in the channel, or (the
        default) show the person an ephemeral message. A URL this workspace never gave out, used 5 times or older
        than 30 minutes is refused with a 404 (:meth:`Workspace.use_hook`), as Slack's hooks answer
        (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks#handling-errors). A hook a
        test made (``SlackStub.response_url``) belongs to no conversation: its posts are only recorded."""
        key = str(args.get("_key") or "")
        if self.open_hooks and key not in self.ws.hooks:
            self.ws.hooks[key] = Hook("", "", label=key, expires=time.monotonic() + HOOK_SECONDS)
        hook, refused = self.ws.use_hook(key)
        if hook is None:
            raise SlackRefusal(404, refused or "no_service", json_body=False)
        if not hook.conv:
            return {"ok": True}
        # Slack replaces the whole message: what isn't given is gone.
        fields = {"text": args.get("text", ""), "blocks": maybe_json(args.get("blocks") or [])}
        if truthy(args.get("delete_original")):
            if hook.source_ephemeral:
                self.ws.drop_ephemeral(hook.source_ephemeral)
            elif hook.source_ts:
                self.ws.delete(hook.conv, hook.source_ts)
            return {"ok": True}
        if truthy(args.get("replace_original")):
            shown = self.ws.ephemeral(hook.source_ephemeral) if hook.source_ephemeral else None
            if shown is not None:
                shown.message = {**shown.message, **fields}
                shown.rev += 1
                self.ws.changed()
                return {"ok": True}
            if hook.source_ts and self.ws.edit(hook.conv, hook.source_ts, fields) is not None:
                return {"ok": True}
        message = self.bot_message(fields, self.ws.next_ts())
        if args.get("response_type") == "in_channel":
            self.ws.add_message(hook.conv, message)
        else:
            self.ws.add_ephemeral(hook.conv, hook.user, message)
        return {"ok": True}

    # ---- views ---------------------------------------------------------------------------------------
    def view_object(self, args: dict[str, Any], view_id: str, default_type: str = "modal") -> dict[str, Any]:
        view = maybe_json(args.get("view", {}))
        if not isinstance(view, dict):
            view = {}
        out = {
            "id": view_id,
            "team_id": self.ws.team_id,
            "type": view.get("type", default_type),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", args.get("external_id", "")),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{view_id}",
            "root_view_id": view_id,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        for key in ("title", "submit", "close", "notify_on_close", "clear_on_close"):
            if key in view:
                out[key] = view[key]
        return out

    def views_publish(self, args: dict[str, Any]) -> Answer:
        user = str(args.get("user_id") or "")
        view = self.view_object(args, f"VH{user}", default_type="home")
        self.ws.homes[user] = view
        self.ws.home_revs[user] = self.ws.home_revs.get(user, 0) + 1
        self.ws.changed()
        return {"ok": True, "view": copy(view)}

    def views_open(self, args: dict[str, Any], *, replacing: bool) -> Answer:
        """views.open (``replacing`` the person's open modal) or views.push (on top of it)."""
        # A trigger must have been issued by Slack, is good for 3 s and is exchanged once
        # (https://docs.slack.dev/reference/methods/views.open, https://docs.slack.dev/reference/methods/views.push).
        user, refused = self.ws.take_trigger(str(args.get("trigger_id") or ""))
        if refused is not None:
            return {"ok": False, "error": refused}
        if replacing and user is not None:
            for view_id in [v for v, m in self.ws.modals.items() if m.user == user]:
                del self.ws.modals[view_id]
        view = self.view_object(args, self.ws.new_id("V"))
        self.ws.modals[view["id"]] = Modal(view, user)
        self.ws.changed()
        return {"ok": True, "view": copy(view)}

    def views_update(self, args: dict[str, Any]) -> Answer:
        view_id = str(args.get("view_id") or "")
        external = str(args.get("external_id") or "")
        found = self.ws.modals.get(view_id) or next(
            (m for m in self.ws.modals.values() if external and m.view.get("external_id") == external), None
        )
        if found is None:  # never opened here (tests): answered as Slack would have updated it
            return {"ok": True, "view": self.view_object(args, view_id or self.ws.new_id("V"))}
        found.view = self.view_object(args, found.view["id"])
        found.errors = {}
        found.rev += 1
        self.ws.changed()
        return {"ok": True, "view": copy(found.view)}
