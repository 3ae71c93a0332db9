"""The Web API's ``users.*`` and ``conversations.*`` methods: people and conversations as Slack lists them,
paged by cursor. Part of :class:`bot.localslack.webapi.WebAPI`, which carries them out."""

from __future__ import annotations

from typing import Any

from bot.localslack.calls import Answer, truthy
from bot.localslack.limits import NON_MARKETPLACE_HISTORY_LIMIT, RateLimits
from bot.localslack.paging import as_int, page, short_first_page
from bot.localslack.workspace import BOT_USER_ID, Workspace, copy, dm_of


class ConversationMethods:
    """users.info, users.list, users.conversations and conversations.members, .info, .open, .history."""

    ws: Workspace
    limits: RateLimits
    short_pages: bool

    def users_info(self, args: dict[str, Any]) -> Answer:
        user = self.ws.users.get(str(args.get("user") or ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": copy(user)}

    def users_list(self, args: dict[str, Any]) -> Answer:
        paged = self._listing_page(list(self.ws.users.values()), args, default_limit=200)
        if paged is None:
            return {"ok": False, "error": "invalid_cursor"}
        members, nxt = paged
        return {"ok": True, "members": copy(members), "response_metadata": {"next_cursor": nxt}}

    def channel_object(self, ch: dict[str, Any]) -> dict[str, Any]:
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
            "context_team_id": self.ws.team_id,
        }

    def users_conversations(self, args: dict[str, Any]) -> Answer:
        user = str(args.get("user") or BOT_USER_ID)
        types = str(args.get("types") or "public_channel")
        exclude_archived = truthy(args.get("exclude_archived", False))
        chans = [
            self.channel_object(ch)
            for ch in self.ws.channels.values()
            if user in ch["members"] and not (exclude_archived and ch["archived"])
        ]
        if "public_channel" not in types and "private_channel" not in types:
            chans = []
        paged = self._listing_page(chans, args)
        if paged is None:
            return {"ok": False, "error": "invalid_cursor"}
        found, nxt = paged
        return {"ok": True, "channels": found, "response_metadata": {"next_cursor": nxt}}

    def conversations_members(self, args: dict[str, Any]) -> Answer:
        ch = self.ws.channels.get(str(args.get("channel") or ""))
        if ch is None:
            return {"ok": False, "error": "channel_not_found"}
        paged = self._listing_page(ch["members"], args)
        if paged is None:
            return {"ok": False, "error": "invalid_cursor"}
        members, nxt = paged
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": nxt}}

    def conversations_info(self, args: dict[str, Any]) -> Answer:
        channel = str(args.get("channel") or "")
        ch = self.ws.channels.get(channel)
        if ch is not None:
            return {"ok": True, "channel": self.channel_object(ch)}
        if channel.startswith("D") and len(channel) > 1:
            return {"ok": True, "channel": {"id": channel, "is_im": True, "user": channel[1:], "is_org_shared": False}}
        return {"ok": False, "error": "channel_not_found"}

    def conversations_open(self, args: dict[str, Any]) -> Answer:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        channel = str(args.get("channel") or "")
        if channel:
            return {"ok": True, "channel": {"id": channel}}
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": dm_of(users[0]) if len(users) == 1 else "G" + "".join(users)}}

    def conversations_history(self, args: dict[str, Any]) -> Answer:
        """Newest first, within (oldest, latest) (inclusive if asked), paged by cursor; each message's
        ``metadata`` only with ``include_all_metadata``."""
        channel = str(args.get("channel") or "")
        if channel not in self.ws.channels and channel not in self.ws.history:
            return {"ok": False, "error": "channel_not_found"}
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or "inf")
        except ValueError:
            return {"ok": False, "error": "invalid_ts_oldest"}
        inclusive = truthy(args.get("inclusive", False))

        def within(message: dict[str, Any]) -> bool:
            ts = float(message["ts"])
            return oldest <= ts <= latest if inclusive else oldest < ts < latest

        chosen = [m for m in reversed(self.ws.history.get(channel, [])) if within(m)]
        if not self.limits.marketplace:  # at most 15 a page, 15 by default (limits.NON_MARKETPLACE_HISTORY_LIMIT)
            args = {**args, "limit": min(as_int(args.get("limit"), 15), NON_MARKETPLACE_HISTORY_LIMIT)}
        paged = page(chosen, args)
        if paged is None:
            return {"ok": False, "error": "invalid_cursor"}
        found, nxt = paged
        with_metadata = truthy(args.get("include_all_metadata", False))
        messages = [{k: v for k, v in m.items() if with_metadata or k != "metadata"} for m in found]
        return {
            "ok": True,
            "messages": copy(messages),
            "has_more": bool(nxt),
            "pin_count": 0,
            "response_metadata": {"next_cursor": nxt},
        }

    def _listing_page(self, items: list[Any], args: dict[str, Any], default_limit: int = 100) -> Any:
        return (short_first_page if self.short_pages else page)(items, args, default_limit)
