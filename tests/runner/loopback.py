"""A Channel that calls a StandInService in-process: unit tests of the simulator, no wire.

The end-to-end tests run the same sessions over real sockets; this one exists so that
the simulator's ack, resend and cancellation logic is tested against a server whose
answers a test can bend (`tamper`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rpcctl.call import CallOptions, MethodInfo, Timings
from rpcctl.errors import Status
from rpcctl.runner.standin import StandInService
from rpcctl.wire.metadata import Metadata

METHODS = {
    "Ping": "ping",
    "Register": "register",
    "Declare": "declare",
    "FetchTask": "fetch_task",
    "UpdateTask": "update_task",
    "UpdateLog": "update_log",
}

Tamper = Callable[[str, Any, Any], Awaitable[Any]]


class LoopbackCall:
    """One unary call answered by the service."""

    def __init__(self, channel: LoopbackChannel, method: str) -> None:
        self.channel = channel
        self.method = method
        self.timings = Timings()
        self._answer: bytes | None = None
        self._done = False

    async def send(self, message: bytes) -> None:
        service = self.channel.service
        name = self.method.rsplit("/", 1)[-1]
        desc = service.messages.method(name)
        request = service.messages.schema.message_class(desc.input_type).FromString(message)
        self.channel.requests.append((name, request))
        response = await getattr(service, METHODS[name])(request)
        if self.channel.tamper is not None:
            response = await self.channel.tamper(name, request, response)
        self._answer = response.SerializeToString()

    async def close_send(self) -> None:
        pass

    async def receive(self) -> bytes | None:
        answer, self._answer = self._answer, None
        return answer

    async def response_headers(self) -> Metadata:
        return Metadata()

    @property
    def trailers(self) -> Metadata:
        return Metadata()

    @property
    def status(self) -> Status | None:
        return None

    async def cancel(self) -> None:
        pass


class LoopbackChannel:
    """Opens LoopbackCalls; records every request it saw."""

    codec = "proto"

    def __init__(self, service: StandInService, tamper: Tamper | None = None) -> None:
        self.service = service
        self.tamper = tamper
        self.requests: list[tuple[str, Any]] = []

    async def open(self, method: MethodInfo, options: CallOptions) -> LoopbackCall:
        return LoopbackCall(self, method.path)

    async def aclose(self) -> None:
        pass
