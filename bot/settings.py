"""Configuration, read once at start from the environment (and a `.env` file when present)."""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
DEFAULT_GRACE_HOURS = 6.0
DEFAULT_DB = "coprod.db"
DEFAULT_ERASE_AFTER_DAYS = 30  # a workspace that removed coprod keeps its data this long, then it is erased
MAX_ERASE_AFTER_DAYS = 3650
DEFAULT_LOCAL_DB = "coprod-local.db"  # the local workspace's own, never mixed with a real workspace's
# Any of these set means a real Slack app: without them all, `coprod run` starts a local workspace.
SLACK_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MIN_SECRET_CHARS = 32  # COPROD_SECRET_KEY: 32 hex digits are 128 bits
YES = ("1", "true", "yes", "on")
NO = ("", "0", "false", "no", "off")
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


# coprod keeps each token it is given and never refreshes one, so an app with token rotation on would stop
# working 12 hours after each install (https://docs.slack.dev/authentication/using-token-rotation).
ROTATING_TOKEN = (
    "SLACK_BOT_TOKEN is a rotating token (xoxe.xoxb-…), which expires after 12 hours: coprod needs a Slack app "
    'with token rotation off, as manifest.json sets it (README, "Token rotation")'
)


class SettingsError(Exception):
    """A setting is missing or malformed; the message says what to set and where to find it."""


class TokenRefused(SettingsError):
    """Slack refused a token coprod was given: the coordinator must give it another (exit 2, as for usage)."""


@dataclass(frozen=True)
class Settings:
    bot_token: str
    signing_secret: str | None
    app_token: str | None
    api_url: str
    db_path: str
    facilitators_path: str | None
    port: int
    grace_hours: float
    tick_seconds: float
    log_level: str = "INFO"
    secret_key: bytes | None = field(default=None, repr=False)  # COPROD_SECRET_KEY: the responder key
    allow_shared_db: bool = False  # COPROD_ALLOW_SHARED_DB: others on the machine may read the database
    # OAuth distribution (several workspaces from one deployment): SLACK_CLIENT_ID and SLACK_CLIENT_SECRET
    # with no SLACK_BOT_TOKEN. Each workspace is answered with its own token, from the installation store.
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str | None = None  # SLACK_REDIRECT_URI, when the app has more than one redirect URL
    erase_after_days: float = DEFAULT_ERASE_AFTER_DAYS  # COPROD_ERASE_AFTER_DAYS
    # A local workspace (bot/localslack) stands in for Slack: tokens and secret made up at start, the Slack
    # URL its own. coprod itself runs as it does over HTTP.
    local: bool = False

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def worker_env(self) -> dict[str, str]:
        """The environment that gives the worker process these settings (``Settings.from_env(env,
        require_slack=False)`` reads them back): what it needs to post and to open the database, no more. The
        key and tokens travel as they came, in the environment, which only this user can read."""
        env = {
            "SLACK_API_URL": self.api_url,
            "COPROD_DB": self.db_path,
            "COPROD_GRACE_HOURS": repr(self.grace_hours),
            "COPROD_TICK_SECONDS": repr(self.tick_seconds),
            "COPROD_ERASE_AFTER_DAYS": repr(self.erase_after_days),
            "COPROD_ALLOW_SHARED_DB": "1" if self.allow_shared_db else "0",
            "LOG_LEVEL": self.log_level,
        }
        optional = {
            "SLACK_BOT_TOKEN": self.bot_token,
            "COPROD_FACILITATORS": self.facilitators_path,
            "SLACK_CLIENT_ID": self.client_id,
            "SLACK_CLIENT_SECRET": self.client_secret,
            "COPROD_SECRET_KEY": self.secret_key.hex() if self.secret_key is not None else None,
        }
        return env | {name: value for name, value in optional.items() if value}

    @property
    def oauth(self) -> bool:
        """Several workspaces, each installed through /slack/install, rather than one bot token."""
        return not self.bot_token and bool(self.client_id)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        http: bool = False,
        require_slack: bool = True,
        local: bool = False,
    ) -> Settings:
        """Validate the environment once. ``http`` forces HTTP mode (signing secret required). With no Slack
        setting at all (and not ``http``), or with ``local``, coprod runs in a local workspace."""
        if env is None:
            load_dotenv_file()
            env = os.environ
        token = env.get("SLACK_BOT_TOKEN", "").strip()
        secret = env.get("SLACK_SIGNING_SECRET", "").strip() or None
        app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
        client_id = env.get("SLACK_CLIENT_ID", "").strip() or None
        client_secret = env.get("SLACK_CLIENT_SECRET", "").strip() or None
        if http:
            app_token = None
        local = require_slack and (local or (not http and not any(env.get(v, "").strip() for v in SLACK_VARIABLES)))
        oauth = not local and not token and bool(client_id or client_secret)
        if local:  # Slack is the local workspace's stand-in: its token and secret are made up for this run
            token, secret, app_token = f"xoxb-local-{secrets.token_hex(12)}", secrets.token_hex(32), None
        elif require_slack and oauth:
            _check_oauth(client_id, client_secret, secret, app_token)
        elif require_slack:
            if not token:
                raise SettingsError(
                    "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) from your app's "
                    "OAuth & Permissions page into .env"
                )
            if token.startswith("xoxe."):  # https://docs.slack.dev/authentication/using-token-rotation
                raise SettingsError(ROTATING_TOKEN)
            if not token.startswith("xoxb-"):
                raise SettingsError(
                    "SLACK_BOT_TOKEN should start with xoxb-: use the Bot User OAuth Token, not another"
                )
            if app_token and not app_token.startswith("xapp-"):
                raise SettingsError(
                    "SLACK_APP_TOKEN should start with xapp-: create an app-level token with connections:write "
                    "on your app's Basic Information page"
                )
            if not app_token and not secret:
                instead = "" if http else ", or set SLACK_APP_TOKEN to use Socket Mode instead"
                raise SettingsError(
                    "SLACK_SIGNING_SECRET is not set (needed for HTTP mode): copy it from your app's Basic Information "
                    f"page{instead}"
                )
        port_text = env.get("PORT", "").strip() or str(DEFAULT_PORT)
        # isascii too: "²".isdigit() is true, and int() refuses it.
        if not (port_text.isascii() and port_text.isdigit()) or not 0 <= int(port_text) <= 65535:
            raise SettingsError(f"PORT must be a port number from 0 to 65535, not “{port_text}”")
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        try:
            parts = urlsplit(api_url)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:  # such as an unclosed [IPv6 address
            usable = False
        shown = without_credentials(api_url)
        if not usable:
            raise SettingsError(
                f"SLACK_API_URL must be a full URL starting with https://, such as {DEFAULT_API_URL} (got “{shown}”)"
            )
        if shown != api_url:  # Slack's client can't send them, and its errors would print them
            raise SettingsError(f"SLACK_API_URL must not hold a user name or password (got “{shown}”): remove them")
        if not api_url.endswith("/"):
            api_url += "/"
        grace = _number(env, "COPROD_GRACE_HOURS", DEFAULT_GRACE_HOURS)
        tick = _number(env, "COPROD_TICK_SECONDS", 30.0)
        if tick <= 0:
            raise SettingsError("COPROD_TICK_SECONDS must be more than 0")
        erase_after = _number(env, "COPROD_ERASE_AFTER_DAYS", DEFAULT_ERASE_AFTER_DAYS)
        if erase_after > MAX_ERASE_AFTER_DAYS:
            raise SettingsError(f"COPROD_ERASE_AFTER_DAYS must be at most {MAX_ERASE_AFTER_DAYS} (ten years)")
        log_level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not “{env.get('LOG_LEVEL')}”")
        return cls(
            bot_token=token,
            signing_secret=secret,
            app_token=app_token,
            api_url=api_url,
            db_path=env.get("COPROD_DB", "").strip() or (DEFAULT_LOCAL_DB if local else DEFAULT_DB),
            facilitators_path=env.get("COPROD_FACILITATORS", "").strip() or None,
            port=int(port_text),
            grace_hours=grace,
            tick_seconds=tick,
            log_level=log_level,
            secret_key=_secret_key(env),
            allow_shared_db=_flag(env, "COPROD_ALLOW_SHARED_DB"),
            client_id=client_id if oauth else None,
            client_secret=client_secret if oauth else None,
            redirect_uri=env.get("SLACK_REDIRECT_URI", "").strip() or None,
            erase_after_days=erase_after,
            local=local,
        )


def _check_oauth(client_id: str | None, client_secret: str | None, secret: str | None, app_token: str | None) -> None:
    """Several workspaces: both OAuth credentials, over HTTP (Slack distributes only apps with request URLs)."""
    if not client_id or not client_secret:
        missing = "SLACK_CLIENT_SECRET" if client_id else "SLACK_CLIENT_ID"
        raise SettingsError(
            f"{missing} is not set: to serve several workspaces, copy the Client ID and Client Secret from your "
            "app's Basic Information page; for one workspace, set SLACK_BOT_TOKEN instead"
        )
    if app_token:
        raise SettingsError(
            "several workspaces (SLACK_CLIENT_ID) need HTTP mode: Slack does not distribute Socket Mode apps to "
            "other workspaces; unset SLACK_APP_TOKEN, or run `coprod run --http`"
        )
    if not secret:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set (needed to serve several workspaces over HTTP): copy it from your "
            "app's Basic Information page"
        )


def without_credentials(url: str) -> str:
    """``url`` with anything that could be a user name or password (before its last @) replaced by "…",
    however malformed the rest is."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme = SCHEME.match(head)
    return f"{scheme.group(0) if scheme else ''}…@{tail}"


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not “{text}”") from None
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a number, not “{text}”")
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


def _secret_key(env: Mapping[str, str]) -> bytes | None:
    """COPROD_SECRET_KEY as key bytes: hex digits (as in the key file) are read as hex, anything else as text."""
    text = env.get("COPROD_SECRET_KEY", "").strip()
    if not text:
        return None
    if len(text) < MIN_SECRET_CHARS:
        raise SettingsError(
            f"COPROD_SECRET_KEY is too short ({len(text)} characters): use at least {MIN_SECRET_CHARS}, such as the "
            "64 hex digits `python3 -c 'import secrets; print(secrets.token_hex(32))'` prints"
        )
    if len(text) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]+", text):
        return bytes.fromhex(text)
    return text.encode("utf-8")


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text not in YES + NO:
        raise SettingsError(f"{name} must be 1 (yes) or 0 (no), not “{env.get(name)}”")
    return text in YES


def configure_logging(level: str) -> None:
    """Log lines to stderr at ``level`` (LOG_LEVEL), the same in each of coprod's processes."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler says "Running job" and "executed successfully" at INFO on every tick.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def load_dotenv_file() -> None:
    """Read ./.env into the environment when present; real environment variables win."""
    if Path(".env").is_file():
        from dotenv import load_dotenv

        load_dotenv(".env", override=False)


def store_settings_from_env() -> Settings:
    """What opening the database needs (its path, the key, whether it may be shared), for the commands
    that need no Slack settings."""
    return Settings.from_env(require_slack=False)


def facilitators_path_from_env() -> str | None:
    """The catalog path alone, for the commands that need no Slack settings."""
    return Settings.from_env(require_slack=False).facilitators_path
