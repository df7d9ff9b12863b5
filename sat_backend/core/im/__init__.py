"""Instant messaging of the core (RFC 6121): messages and their history, presence."""
