"""The tail-logs screens other than the main one."""
