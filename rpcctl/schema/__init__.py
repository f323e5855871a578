"""Descriptors: .proto compilation, protosets, reflection, lookup, describe, JSON, templates.

Modules: `registry` (Schema, CallKind), `sources`, `cache`, `reflection`, `describe`,
`template`, `jsoncodec`, `details`. Importing this package loads no grpc, httpx or textual.
"""
