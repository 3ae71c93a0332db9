"""What Slack refuses before a method runs: a scope the token lacks, a conversation the bot can't reach, and
blocks or views Block Kit doesn't allow.

``refusal(ws, method, args)`` is Slack's error answer for the call, or None when Slack would carry it out.
Each rule cites the Slack page it comes from. The bot's scopes are manifest.json's (``Workspace.scopes``;
a test may take some away); a conversation is public (``C…``), private (``G…``) or a person's DM with the
app (``D<user>``), and the bot reaches a channel only as a member, as on Slack.
"""

from __future__ import annotations

from typing import Any

from bot.localslack import blockkit
from bot.localslack.workspace import BOT_USER_ID, Workspace

Answer = dict[str, Any]
# The scope each method needs, from its page https://docs.slack.dev/reference/methods/<method> ("Required
# scopes"). The Conversations API's methods need the scope of the conversation's kind: channels:* for a
# public channel, groups:* for a private one, im:* for a DM (the "by kind" rows).
SCOPES: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "users.info": "users:read",
    "users.list": "users:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
BY_KIND: dict[str, dict[str, str]] = {
    "conversations.history": {"C": "channels:history", "G": "groups:history", "D": "im:history"},
    "conversations.members": {"C": "channels:read", "G": "groups:read", "D": "im:read"},
    "conversations.info": {"C": "channels:read", "G": "groups:read", "D": "im:read"},
}
# https://docs.slack.dev/reference/methods/users.conversations: the scope of each type asked for
TYPE_SCOPES = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "im": "im:read",
    "mpim": "mpim:read",
}
# Methods that name a conversation in ``channel`` and need the bot to be in it (their pages list
# not_in_channel / channel_not_found); chat.postMessage may reach a person's DM by their user id.
CHAT = ("chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete", "conversations.history")


def missing(ws: Workspace, needed: str) -> Answer | None:
    """https://docs.slack.dev/reference/methods (missing_scope: "The token used is not granted the specific
    scope permissions required to complete this request"), with ``needed`` and ``provided`` as Slack gives."""
    if needed in ws.scopes:
        return None
    return {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(sorted(ws.scopes))}


def scope_refusal(ws: Workspace, method: str, args: dict[str, Any]) -> Answer | None:
    if method in SCOPES:
        return missing(ws, SCOPES[method])
    channel = str(args.get("channel") or "")
    if method in BY_KIND and channel[:1] in BY_KIND[method]:
        return missing(ws, BY_KIND[method][channel[:1]])
    if method == "users.conversations":
        for kind in str(args.get("types") or "public_channel").split(","):
            refused = missing(ws, TYPE_SCOPES.get(kind.strip(), "channels:read"))
            if refused:
                return refused
    if method == "conversations.open":
        # https://docs.slack.dev/reference/methods/conversations.open: im:write for a DM, mpim:write for several
        users = [u for u in str(args.get("users") or "").split(",") if u]
        return missing(ws, "mpim:write" if len(users) > 1 else "im:write")
    return None


def _dm_user(ws: Workspace, conv: str) -> str | None:
    """The person whose DM with the app ``conv`` is, or None."""
    return conv[1:] if conv.startswith("D") and conv[1:] in ws.users else None


def membership_refusal(ws: Workspace, method: str, args: dict[str, Any], bot: str = BOT_USER_ID) -> Answer | None:
    """https://docs.slack.dev/reference/methods/chat.postMessage (and chat.update, chat.delete,
    chat.postEphemeral, conversations.history): not_in_channel for a public channel the bot isn't in
    (coprod has no chat:write.public, which would let it post there), channel_not_found for a private
    channel it isn't in or one that doesn't exist. A person's DM is its ``D…`` id; only chat.postMessage
    takes a user id (it posts in their DM and answers the ``D…`` channel)."""
    if method in CHAT:
        channel = str(args.get("channel") or "")
        if channel[:1] in {"U", "W"}:
            if method == "chat.postMessage" and channel in ws.users:
                return None
            return {"ok": False, "error": "channel_not_found"}
        dm_user = _dm_user(ws, channel)
        ch = ws.channels.get(channel)
        if dm_user is None and ch is None:
            return {"ok": False, "error": "channel_not_found"}
        if ch is not None and bot not in ch["members"] and not ch["archived"]:
            if channel.startswith("G"):
                return {"ok": False, "error": "channel_not_found"}
            if method != "chat.postMessage" or "chat:write.public" not in ws.scopes:
                return {"ok": False, "error": "not_in_channel"}
        if method == "chat.postEphemeral":
            # https://docs.slack.dev/reference/methods/chat.postEphemeral (user_not_in_channel: "Intended
            # recipient is not in the specified channel")
            user = str(args.get("user") or "")
            if (dm_user is not None and user != dm_user) or (ch is not None and user not in ch["members"]):
                return {"ok": False, "error": "user_not_in_channel"}
    elif method == "conversations.members":
        # https://docs.slack.dev/reference/methods/conversations.members: a private channel the bot isn't in
        # is one it can't see (channel_not_found); a public one's members can be read from outside
        ch = ws.channels.get(str(args.get("channel") or ""))
        if ch is not None and ch["id"].startswith("G") and bot not in ch["members"]:
            return {"ok": False, "error": "channel_not_found"}
    return None


def blocks_refusal(ws: Workspace, method: str, args: dict[str, Any]) -> Answer | None:
    """Block Kit's rules on every path that carries blocks or a view (``bot.localslack.blockkit``):
    ``invalid_blocks`` for a message (https://docs.slack.dev/reference/methods/chat.postMessage), and
    ``invalid_arguments`` with the reasons for a view (https://docs.slack.dev/reference/methods/views.open,
    views.push, views.update, views.publish: "The method was called with invalid arguments")."""
    files = set(ws.files)
    if method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url") and "blocks" in args:
        problems = blockkit.message_problems(args["blocks"], files)
        if problems:
            return blockkit.refused("invalid_blocks", problems)
    if method in ("views.open", "views.push", "views.update", "views.publish"):
        problems = blockkit.view_problems(args.get("view", {}), files)
        if problems:
            return blockkit.refused("invalid_arguments", problems)
    return None


def refusal(ws: Workspace, method: str, args: dict[str, Any], bot: str = BOT_USER_ID) -> Answer | None:
    """Slack's refusal of ``method`` called with ``args`` by the bot user ``bot`` (scopes first, then the
    conversation, then the blocks), or None."""
    return (
        scope_refusal(ws, method, args) or membership_refusal(ws, method, args, bot) or blocks_refusal(ws, method, args)
    )


def http_status(method: str, answer: Answer) -> int:
    """The HTTP status Slack answers with: a response URL given blocks it won't take is HTTP 400
    (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses); the Web API
    answers 200 with ``ok: false``."""
    if method == "response_url" and answer.get("error") == "invalid_blocks":
        return 400
    return 200
