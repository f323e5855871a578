"""The recording proxy and the capture file.

Modules: `forward` (`serve_proxy`, `proxy_table`), `relay` (`Relay`: each call passed to the
upstream byte for byte, the events decoded on the side), `capture` (the
capture file: `CaptureWriter`, `read_capture`, `iter_events`), `recorder` (`Recorder`:
an event-bus subscription written to a capture), `redact` (what counts as a credential),
`decoding` (messages as proto3 JSON for events). Importing this package loads nothing heavy.
"""
