"""What the server allows a peer: time to send headers, time to stay idle, connections at once.

With the defaults, `rpcctl serve` and the recording proxy stay within `MEMORY_BOUND_MIB` of
resident memory under the attacks of tests/attacks (oversized frames, rapid reset, slowloris,
idle and surplus connections) and still answer calls afterwards. Fixed rules, not settings:

- a frame longer than the advertised SETTINGS_MAX_FRAME_SIZE (16 KiB) ends the connection
  with GOAWAY(FRAME_SIZE_ERROR) at its header, before its payload is read (RFC 9113 §4.2);
- a client that resets more than `RESET_BURST` streams at once, or more than `RESET_RATE` a
  second for longer, gets GOAWAY(ENHANCE_YOUR_CALM) (the HTTP/2 rapid reset attack,
  CVE-2023-44487; RFC 9113 §10.5 lets a server limit such work).
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 75.0
MAX_CONNECTIONS = 500
MAX_CALLS = 1000
RESET_BURST = 200
RESET_RATE = 100.0  # resets per second, sustained
MEMORY_BOUND_MIB = 150


@dataclass(frozen=True)
class ServerLimits:
    """Per-server limits on what peers may hold.

    - ``header_timeout`` (s): a request's headers must arrive whole this long after their first
      byte (HTTP/1.1: request line and header fields; HTTP/2: the connection preface, any
      frame once its first byte came, and a header block with its CONTINUATION frames), or
      the connection is closed.
    - ``idle_timeout`` (s): a connection with no call in progress is closed after this long
      (HTTP/2: GOAWAY(NO_ERROR) first, RFC 9113 §9.1).
    - ``max_connections``: connections beyond this many are closed as soon as accepted.
    - ``max_calls``: HTTP/2 calls in progress at once, over all connections; a stream beyond
      this many is refused with RST_STREAM(REFUSED_STREAM), which tells the client it was not
      processed and may be retried (RFC 9113 §8.7). (Each HTTP/2 connection also allows 100
      concurrent streams, SETTINGS_MAX_CONCURRENT_STREAMS; HTTP/1.1 carries one call per
      connection.)
    """

    header_timeout: float = HEADER_TIMEOUT_S
    idle_timeout: float = IDLE_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS
    max_calls: int = MAX_CALLS

    def __post_init__(self) -> None:
        if not self.header_timeout > 0 or not self.idle_timeout > 0:
            raise ValueError("timeouts must be positive")
        if self.max_connections < 1 or self.max_calls < 1:
            raise ValueError("the connection and call limits must be at least 1")
