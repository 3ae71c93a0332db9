"""A local workspace: a stand-in for Slack on this computer, and a page to use it in a browser.

`coprod run` with no Slack tokens (or `coprod run --local`) serves it on 127.0.0.1:PORT, with coprod behind it
running exactly as it does over HTTP with a real workspace. The tests use the same stand-in.

- ``workspace``: what Slack keeps (people, channels, messages, App Home, modals, files), saved beside the database
  (``saving``).
- ``webapi``: the Web API methods coprod calls, answered from the workspace as Slack answers them (its
  ``users.*``/``conversations.*`` in ``conversations``, its file uploads in ``uploads``; ``calls``: reading a call).
- ``access``: what Slack refuses before a method runs (scopes, membership); ``blockkit``: Block Kit's rules.
- ``server``: Slack's HTTP side on 127.0.0.1 (the Web API, response URLs, uploads, and the page).
- ``signed``: Slack's requests to an app (slash commands, clicks, modal submissions, events), signed;
  ``client_sim``: posting them to an app, and its reply.
- ``slackside``: what a person does on the page, sent to coprod as Slack sends it, and its answer shown.
- ``render``: Block Kit and mrkdwn as escaped HTML; ``page``: the page's routes; ``static/``: the page itself.
- ``seed``: the local partnership's people and six months of history; ``launch``: `coprod run` in a local workspace.
- ``serving``: a server on a daemon thread.
"""
