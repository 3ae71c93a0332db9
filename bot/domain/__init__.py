"""The product's rules, on plain data: no Slack, no SQL."""
