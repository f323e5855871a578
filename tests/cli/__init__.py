"""CLI tests: every command in-process against real servers."""
