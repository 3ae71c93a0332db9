"""The Slack edge: the Bolt app, its listeners, and what they share with the jobs."""
