"""Rendering only: messages, schemas, errors and call details."""
