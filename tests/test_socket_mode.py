"""`coprod run` in Socket Mode: no public URL; Slack's WebSocket is stood in for on loopback."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading

from slack_stub import SlackStub
from websockets.sync.server import serve


def test_socket_mode_answers_a_slash_command_and_stops_on_sigterm(tmp_path):
    """With SLACK_APP_TOKEN set, coprod connects out, acks `/coprod help` with its help, exits 0 on SIGTERM."""
    acks: queue.Queue = queue.Queue()

    def session(ws):
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
        ws.send(json.dumps({
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {"team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/coprod",
                        "text": "help", "api_app_id": "A1", "response_url": "http://127.0.0.1:9/r",
                        "trigger_id": "t1", "token": "x"},
        }))
        for raw in ws:
            message = json.loads(raw)
            if message.get("envelope_id") == "env-1":
                acks.put(message)

    with SlackStub() as stub, serve(session, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stub.socket_mode_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COPROD_"))}
        env.update({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-test", "SLACK_API_URL": stub.url,
                    "COPROD_DB": str(tmp_path / "c.db")})
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ack = acks.get(timeout=20)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        assert "checkin" in json.dumps(ack["payload"])
        assert stub.calls_to("apps.connections.open")
        assert proc.returncode == 0, err
        assert "Traceback" not in err
