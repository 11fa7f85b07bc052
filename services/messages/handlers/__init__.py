"""The messages service's HTTP handlers: sending, and reading (folders, one message, read state)."""
