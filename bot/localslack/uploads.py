"""The Web API's file uploads (``files.getUploadURLExternal``, the upload itself, ``files.completeUploadExternal``)
and the files they share. Part of :class:`bot.localslack.webapi.WebAPI`, which carries them out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.localslack.calls import Answer, maybe_json
from bot.localslack.workspace import Workspace, dm_of


def mimetype(name: str) -> str:
    """The type Slack reports for a file coprod uploads (a CSV export, a PNG picture, an HTML report)."""
    return {".csv": "text/csv", ".png": "image/png", ".html": "text/html"}.get(
        name[name.rfind(".") :].lower() if "." in name else "", "application/octet-stream"
    )


class FileMethods:
    """The uploads; ``base`` is the server's address, for the URLs they hand out."""

    ws: Workspace
    base: str
    bot_message: Callable[[dict[str, Any], str], dict[str, Any]]

    def files_get_upload_url(self, args: dict[str, Any]) -> Answer:
        file_id = self.ws.new_id("F")
        name = str(args.get("filename") or "file")
        self.ws.files[file_id] = {
            "id": file_id,
            "name": name,
            "title": name,
            "alt_txt": str(args.get("alt_txt") or ""),
            "content": b"",
            "complete": False,
        }
        return {"ok": True, "upload_url": f"{self.base}upload/{file_id}", "file_id": file_id}

    def file_upload(self, args: dict[str, Any]) -> Answer:
        record = self.ws.files.get(str(args.get("_file_id") or ""))
        if record is not None:
            raw = args.get("_bytes")
            record["content"] = raw if isinstance(raw, bytes) else str(args.get("_raw", "")).encode()
        return {"ok": True}

    def file_object(self, record: dict[str, Any]) -> dict[str, Any]:
        name = record["name"]
        url = f"{self.base}files/{record['id']}/{name}"
        return {
            "id": record["id"],
            "name": name,
            "title": record.get("title", name),
            "mimetype": mimetype(name),
            "alt_txt": record.get("alt_txt", ""),
            "size": len(record.get("content", b"")),
            "url_private": url,
            "url_private_download": url,
        }

    def files_complete_upload(self, args: dict[str, Any]) -> Answer:
        given = maybe_json(args.get("files") or "[]")
        if not isinstance(given, list):
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for item in given:
            if not isinstance(item, dict):
                continue
            record = self.ws.files.get(str(item.get("id") or ""))
            if record is None:  # never asked for here (tests): answered as Slack would
                done.append({"id": item.get("id"), "title": item.get("title", "")})
                continue
            record.update(complete=True, title=item.get("title") or record["name"])
            done.append(self.file_object(record))
        channel = str(args.get("channel_id") or "")
        shared = [f for f in done if "url_private" in f]
        if channel and shared:
            conv = dm_of(channel) if channel[:1] in {"U", "W"} else channel
            message = self.bot_message({"text": args.get("initial_comment") or ""}, self.ws.next_ts())
            message["files"] = shared
            self.ws.add_message(conv, message)
        return {"ok": True, "files": done}
