"""Work handed off a request's thread: lanes, and follow-ups that keep the latest per key."""
