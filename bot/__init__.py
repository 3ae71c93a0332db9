"""coprod: a Slack bot for research co-production partnerships."""

__version__ = "0.1.0"
