"""What the tests (and bench/) share; each helper is written once, here.

- ``constants``: the workspace, channel, people, secrets and start time the Slack tests run with.
- ``clock``: the hand-moved clock coprod sees, and epoch seconds of a moment.
- ``running``: coprod running against the stand-ins, in this process (``running_bot``) or as ``python -m bot``.
- ``serving``: a server on a daemon thread, the lifecycle both Slack stand-ins share.
- ``slack_stub``: Slack's Web API and response_urls on loopback (``SlackStub``).
- ``slack_requests``: Slack's requests to an app over HTTP, signed (``SlackClientSim``, the body builders).
- ``socket_mode_sim``: Slack's Socket Mode WebSocket endpoint and the same requests as envelopes.
- ``flows``: what people do in Slack: ask, post a check-in, rate, comment, open App Home.
- ``blockkit``: reading what coprod sent: words, posts by kind, block ids, Block Kit validity and limits.
- ``stored``: reading what coprod stored: ``store_state``, and rows through a read-only connection.
- ``waiting``: waiting for a condition (``eventually``) or for a quiet spell (``quiet``).
- ``edits``: changes to nested data as functions, for tables of broken inputs.
"""
