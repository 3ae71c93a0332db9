"""The world the Slack tests run in: one workspace, one partnership channel, its people, and the secrets."""

from __future__ import annotations

from datetime import UTC, datetime

TEAM = "T1"
CHANNEL = "C1"
COORDINATOR = "U1"
MEMBERS = ("U1", "U2", "U3", "U4")
ADMIN = "UADMIN"
BOT_USER = "UBOT"
BOT_TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"
APP_TOKEN = "xapp-1-test"
# How Slack reaches coprod: signed HTTP requests, or envelopes over Socket Mode's WebSocket.
MODES = ("http", "socket")
# Tuesday 24 November 2026, 09:00 UTC
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
