"""What the tests (and bench/) share; each helper is written once, here.

- ``constants``: the workspace, channel, people, secrets and start time the Slack tests run with.
- ``clock``: the hand-moved clock coprod sees, and epoch seconds of a moment.
- ``running``: coprod running against the stand-ins, in this process (``running_bot``) or as ``python -m bot``.
- ``slack_stub``: the local workspace's Slack stand-in (``bot.localslack``), recording calls and injecting faults
  (``SlackStub``).
- Slack's signed requests to an app live in the package: ``bot.localslack.signed`` (the body builders) and
  ``bot.localslack.client_sim`` (``SlackClientSim``), as does the lifecycle of a server on a thread
  (``bot.localslack.serving``).
- ``socket_mode_sim``: Slack's Socket Mode WebSocket endpoint and the same requests as envelopes.
- ``flows``: what people do in Slack: ask, post a check-in, rate, comment, open App Home.
- ``blockkit``: reading what coprod sent: words, posts by kind, block ids, Block Kit validity and limits.
- ``stored``: reading what coprod stored: ``store_state``, and rows through a read-only connection.
- ``waiting``: waiting for a condition (``eventually``) or for a quiet spell (``quiet``).
- ``edits``: changes to nested data as functions, for tables of broken inputs.
"""
