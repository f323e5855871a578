"""The tail-logs widgets, one module per screen region."""
