"""A raw-bytes bidi stream over grpc.aio, shaped as rpcctl.schema.reflection.ReflectionStream."""

from __future__ import annotations

import asyncio

import grpc

from rpcctl.errors import RpcError
from rpcctl.schema.reflection import ReflectionStream, StreamOpener
from rpcctl.wire.status import Code


def _rpc_error(exc: grpc.aio.AioRpcError) -> RpcError:
    return RpcError(Code.from_number(exc.code().value[0]), exc.details() or "")


class GrpcBytesStream:
    """One grpc.aio stream-stream call carrying serialized messages."""

    def __init__(self, call: grpc.aio.StreamStreamCall) -> None:
        self._call = call

    async def send(self, data: bytes) -> None:
        """Write one message; a call that already ended reports its status."""
        try:
            await self._call.write(data)
        except grpc.aio.AioRpcError as exc:
            raise _rpc_error(exc) from exc
        except (asyncio.InvalidStateError, grpc.aio.UsageError):
            await self._raise_status()

    async def receive(self) -> bytes | None:
        """The next message, None at an OK end, RpcError at a failed one."""
        try:
            data = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            raise _rpc_error(exc) from exc
        if data is grpc.aio.EOF:
            await self._raise_status()
            return None
        assert isinstance(data, bytes)
        return data

    async def _raise_status(self) -> None:
        code = await self._call.code()
        if code is not grpc.StatusCode.OK:
            details = await self._call.details()
            raise RpcError(Code.from_number(code.value[0]), details or "")

    async def aclose(self) -> None:
        """Cancel the call if it is still running."""
        self._call.cancel()


def grpc_opener(channel: grpc.aio.Channel) -> StreamOpener:
    """A StreamOpener that starts raw-bytes stream-stream calls on a channel."""

    async def open_stream(path: str) -> ReflectionStream:
        call = channel.stream_stream(path)()
        return GrpcBytesStream(call)

    return open_stream
