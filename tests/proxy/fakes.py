"""A `ServerCall` driven by a test: the server half without an HTTP server."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

from rpcctl.transport.target import RpcProtocol
from rpcctl.wire.metadata import Metadata

_ids = itertools.count(1)


@dataclass
class FakeServerCall:
    """Request messages are fed with `push`/`finish`; responses land in `sent`."""

    method_path: str
    protocol: RpcProtocol = RpcProtocol.GRPC
    codec: str = "proto"
    request_headers: Metadata = field(default_factory=Metadata)
    response_headers: Metadata = field(default_factory=Metadata)
    response_trailers: Metadata = field(default_factory=Metadata)
    deadline: float | None = None
    peer: str = "127.0.0.1:1"
    call_id: str = field(default_factory=lambda: f"fake{next(_ids)}")
    sent: list[bytes] = field(default_factory=list)
    headers_at_first_send: Metadata | None = None

    def __post_init__(self) -> None:
        self._requests: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.sent_event = asyncio.Event()

    def push(self, *messages: bytes) -> None:
        for message in messages:
            self._requests.put_nowait(message)

    def finish(self) -> None:
        self._requests.put_nowait(None)

    def timeout(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    async def receive(self) -> bytes | None:
        return await self._requests.get()

    async def send(self, message: bytes) -> None:
        if self.headers_at_first_send is None:
            self.headers_at_first_send = self.response_headers.copy()
        self.sent.append(message)
        self.sent_event.set()
