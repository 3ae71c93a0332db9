"""coprod's tests: a package, so that every test imports what it shares from ``tests.support``."""
