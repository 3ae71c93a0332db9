"""Settings from the environment: each mistake is refused naming the variable to fix."""

from __future__ import annotations

import pytest

from bot.settings import DEFAULT_API_URL, Settings, SettingsError

BOT = "xoxb-123-456-abc"
APP = "xapp-1-A1-2-def"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
HTTP = {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": SECRET}
SOCKET = {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP}


def test_http_mode_defaults() -> None:
    """With a bot token and signing secret: HTTP on port 3000, Slack's API, ./coprod.db, bundled catalog."""
    s = Settings.from_env(HTTP)
    assert s.socket_mode is False
    assert (s.bot_token, s.signing_secret, s.app_token) == (BOT, SECRET, None)
    assert (s.port, s.api_url, s.db_path, s.facilitators_path) == (3000, DEFAULT_API_URL, "coprod.db", None)
    assert s.grace_hours == 6.0 and s.tick_seconds == 30.0


def test_app_token_means_socket_mode_without_signing_secret() -> None:
    """SLACK_APP_TOKEN alone switches to Socket Mode; no signing secret needed."""
    s = Settings.from_env(SOCKET)
    assert s.socket_mode is True and s.app_token == APP and s.signing_secret is None


def test_http_flag_forces_http_even_with_an_app_token() -> None:
    """--http ignores SLACK_APP_TOKEN and needs the signing secret."""
    assert Settings.from_env({**SOCKET, "SLACK_SIGNING_SECRET": SECRET}, http=True).socket_mode is False
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        Settings.from_env(SOCKET, http=True)


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"SLACK_SIGNING_SECRET": SECRET}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "   ", "SLACK_SIGNING_SECRET": SECRET}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": SECRET}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": APP, "SLACK_SIGNING_SECRET": SECRET}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": BOT}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": "  "}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": BOT}, "SLACK_APP_TOKEN"),
        ({**HTTP, "PORT": "http"}, "PORT"),
        ({**HTTP, "PORT": "-1"}, "PORT"),
        ({**HTTP, "PORT": "65536"}, "PORT"),
        ({**HTTP, "PORT": "²"}, "PORT"),
        ({**HTTP, "PORT": "٣٠٠٠"}, "PORT"),
        ({**HTTP, "PORT": "30.5"}, "PORT"),
        ({**HTTP, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({**HTTP, "SLACK_API_URL": "ftp://slack.com/api/"}, "SLACK_API_URL"),
        ({**HTTP, "SLACK_API_URL": "https://"}, "SLACK_API_URL"),
        ({**HTTP, "SLACK_API_URL": "http:///api/"}, "SLACK_API_URL"),
        ({**HTTP, "SLACK_API_URL": "http://[::1/api/"}, "SLACK_API_URL"),
        ({**HTTP, "COPROD_GRACE_HOURS": "soon"}, "COPROD_GRACE_HOURS"),
        ({**HTTP, "COPROD_GRACE_HOURS": "-1"}, "COPROD_GRACE_HOURS"),
        ({**HTTP, "COPROD_GRACE_HOURS": "nan"}, "COPROD_GRACE_HOURS"),
        ({**HTTP, "COPROD_GRACE_HOURS": "inf"}, "COPROD_GRACE_HOURS"),
        ({**HTTP, "COPROD_TICK_SECONDS": "0"}, "COPROD_TICK_SECONDS"),
        ({**HTTP, "COPROD_TICK_SECONDS": "nan"}, "COPROD_TICK_SECONDS"),
        ({**HTTP, "COPROD_SECRET_KEY": "a-password-31-characters-long!!"}, "COPROD_SECRET_KEY"),
        ({**HTTP, "COPROD_ALLOW_SHARED_DB": "perhaps"}, "COPROD_ALLOW_SHARED_DB"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_setting_is_refused_naming_the_variable(env: dict[str, str], variable: str) -> None:
    """Each missing or malformed setting raises SettingsError naming it, in one line."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert variable in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "env, port",
    [({}, 3000), ({"PORT": "0"}, 0), ({"PORT": "8080"}, 8080), ({"PORT": " 65535 "}, 65535), ({"PORT": ""}, 3000)],
)
def test_port(env: dict[str, str], port: int) -> None:
    """PORT is a whole number 0..65535, defaulting to 3000."""
    assert Settings.from_env({**HTTP, **env}).port == port


@pytest.mark.parametrize(
    "url, expected",
    [
        ("", DEFAULT_API_URL),
        ("http://127.0.0.1:8765/api", "http://127.0.0.1:8765/api/"),
        ("https://slack-gov.com/api/", "https://slack-gov.com/api/"),
    ],
)
def test_api_url_gets_a_trailing_slash(url: str, expected: str) -> None:
    """SLACK_API_URL (GovSlack, proxies, the test stand-in) always ends with a slash."""
    assert Settings.from_env({**HTTP, "SLACK_API_URL": url}).api_url == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://alice:s3cret-pw@slack.com/api/",
        "https://alice:s3cret-pw@/api/",
        "http://alice:s3cret-pw@[::1/api/",
        "alice:s3cret-pw@slack.com/api",
        "https://alice:s3c/ret-pw@slack.com/api/",
        "https://alice:s3c@ret-pw@slack.com/api/",
        # Well formed, but Slack's client can't send credentials, and its error messages print the URL.
        "https://alice:s3cret-pw@slack.com/api/",
        "https://alice@slack.com/api/",
    ],
)
def test_api_url_with_a_password_is_refused_without_echoing_it(url: str) -> None:
    """An SLACK_API_URL holding a user name or password is refused, and the message shows neither (issue 8)."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**HTTP, "SLACK_API_URL": url})
    message = str(caught.value)
    assert "SLACK_API_URL" in message
    assert "\n" not in message
    assert "alice" not in message
    assert "s3c" not in message and "ret-pw" not in message


def test_paths_come_from_the_environment() -> None:
    """COPROD_DB and COPROD_FACILITATORS are taken as given, surrounding spaces trimmed."""
    s = Settings.from_env({**HTTP, "COPROD_DB": " /data/c.db ", "COPROD_FACILITATORS": "/data/mine.json"})
    assert (s.db_path, s.facilitators_path) == ("/data/c.db", "/data/mine.json")


@pytest.mark.parametrize(
    "text, key",
    [
        ("", None),
        ("ab" * 32, bytes.fromhex("ab" * 32)),  # hex, as in the key file: the same key bytes
        (" " + "0F" * 16 + " ", bytes.fromhex("0f" * 16)),
        ("correct horse battery staple and more", b"correct horse battery staple and more"),
        ("abc" * 11, b"abc" * 11),  # hex digits, but an odd number of them: text
    ],
)
def test_secret_key_is_hex_or_text(text: str, key: bytes | None) -> None:
    """COPROD_SECRET_KEY: hex digits are read as hex (so the key file's line can be moved into it), any other
    string of 32 or more characters as its UTF-8 bytes; unset means the key file. Never shown in a repr."""
    s = Settings.from_env({**HTTP, "COPROD_SECRET_KEY": text})
    assert s.secret_key == key
    if key:
        assert text.strip() not in repr(s)


@pytest.mark.parametrize("text, allowed", [("", False), ("0", False), ("no", False), ("1", True), (" Yes ", True)])
def test_allow_shared_db_is_a_yes_or_no(text: str, allowed: bool) -> None:
    """COPROD_ALLOW_SHARED_DB is off unless set to 1 (or yes, true, on)."""
    assert Settings.from_env({**HTTP, "COPROD_ALLOW_SHARED_DB": text}).allow_shared_db is allowed


def test_slack_settings_are_optional_when_not_required() -> None:
    """Tools that do not talk to Slack (the CLI) need no tokens."""
    s = Settings.from_env({}, require_slack=False)
    assert s.bot_token == "" and s.socket_mode is False


def test_explicit_env_ignores_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit mapping is the whole environment: variables outside it are not read."""
    monkeypatch.setenv("PORT", "not-a-port")
    monkeypatch.setenv("SLACK_APP_TOKEN", APP)
    s = Settings.from_env(HTTP)
    assert s.port == 3000 and s.socket_mode is False


def test_process_environment_and_dotenv_are_read_when_no_env_given(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Without a mapping, a .env file in the current folder is read; real variables win over it."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "PORT",
        "SLACK_API_URL",
        "COPROD_DB",
        "COPROD_FACILITATORS",
        "COPROD_GRACE_HOURS",
        "COPROD_TICK_SECONDS",
    ):
        monkeypatch.setenv(name, "")  # recorded, so whatever .env sets is undone after the test
        monkeypatch.delenv(name)
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN={BOT}\nSLACK_SIGNING_SECRET={SECRET}\nPORT=4000\n")
    monkeypatch.setenv("PORT", "5000")
    s = Settings.from_env()
    assert (s.bot_token, s.signing_secret, s.port) == (BOT, SECRET, 5000)
