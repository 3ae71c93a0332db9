"""A local workspace saved to its file (0600) about once a second while something changed, and read back when it
starts, so it keeps its history across restarts: people, channels, messages, App Home tabs and files (ephemeral
messages, modals, triggers and response URLs live only as long as the process, as in Slack). Part of
:class:`bot.localslack.workspace.Workspace`."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from pathlib import Path
from typing import Any

from bot.store.files import write_private

SAVE_EVERY = 1.0
FORMAT = 1  # the saved file's layout


class Saving:
    """Saving and reading back; the state saved is the :class:`Workspace`'s."""

    path: Path | None
    lock: threading.Condition
    team_id: str
    team_name: str
    users: dict[str, dict[str, Any]]
    channels: dict[str, dict[str, Any]]
    history: dict[str, list[dict[str, Any]]]
    revs: dict[tuple[str, str], int]
    homes: dict[str, dict[str, Any]]
    files: dict[str, dict[str, Any]]
    _last_ts: int
    _dirty: bool
    _saver: threading.Thread | None
    _closing: threading.Event

    def start_saving(self) -> None:
        """Save to ``path`` about once a second while something changed (and once more on :meth:`close`)."""
        if self.path is None or self._saver is not None:
            return
        self._saver = threading.Thread(target=self._save_loop, name="local-slack-save", daemon=True)
        self._saver.start()

    def close(self) -> None:
        self._closing.set()
        if self._saver is not None:
            self._saver.join(timeout=5)
        self.save()

    def _save_loop(self) -> None:
        while not self._closing.wait(SAVE_EVERY):
            self.save()

    def save(self) -> None:
        if self.path is None:
            return
        with self.lock:
            if not self._dirty:
                return
            self._dirty = False
            data = {
                "format": FORMAT,
                "team": {"id": self.team_id, "name": self.team_name},
                "users": self.users,
                "channels": self.channels,
                "history": self.history,
                "homes": self.homes,
                "files": {
                    k: {**f, "content": base64.b64encode(f.get("content", b"")).decode()} for k, f in self.files.items()
                },
                "last_ts": self._last_ts,
            }
            text = json.dumps(data, ensure_ascii=True)
        write_private(self.path, text)

    def _load(self, path: Path) -> None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(path.read_text(encoding="ascii"))
            if data.get("format") != FORMAT:
                return
            self.users.update(data["users"])
            self.channels.update(data["channels"])
            self.history.update(data["history"])
            self.homes.update(data["homes"])
            for key, f in data["files"].items():
                self.files[key] = {**f, "content": base64.b64decode(f.get("content", ""))}
            self._last_ts = int(data["last_ts"])
            for conv, kept in self.history.items():
                for message in kept:
                    self.revs[(conv, message["ts"])] = 1
