"""What the server does with handlers that misbehave, clients that leave, and its events."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from rpcctl.call_events import EventBus, EventKind
from rpcctl.errors import RpcError
from rpcctl.schema.registry import CallKind, Schema
from rpcctl.server.call import Handler, HandlerTable, ServerCall
from rpcctl.server.serve import Server
from rpcctl.wire.status import Code
from tests.server.service import make_table

JSON = {"content-type": "application/json"}


def _raw_table() -> tuple[HandlerTable, dict[str, Any]]:
    seen: dict[str, Any] = {"cancelled": asyncio.Event()}

    async def crash(call: ServerCall) -> None:
        await call.receive()
        raise ValueError("secret internals")

    async def inject(call: ServerCall) -> None:
        await call.receive()
        call.response_headers.add("x-evil", "a\r\ngrpc-status: 0")
        await call.send(b"{}")

    async def inject_trailer(call: ServerCall) -> None:
        await call.receive()
        call.response_trailers.add("x-evil", "a\r\nx-forged: 1")
        await call.send(b"{}")

    async def forge_status(call: ServerCall) -> None:
        await call.receive()
        call.response_headers.add("grpc-status", "0")
        call.response_trailers.add("content-type", "text/html")
        raise RpcError(Code.NOT_FOUND, "really not found")

    async def hang(call: ServerCall) -> None:
        await call.receive()
        await call.send(b"{}")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen["cancelled"].set()
            raise

    async def silent(call: ServerCall) -> None:
        await call.receive()

    table = HandlerTable()
    for name, fn, kind in [
        ("Crash", crash, CallKind.UNARY),
        ("Inject", inject, CallKind.UNARY),
        ("InjectTrailer", inject_trailer, CallKind.UNARY),
        ("Forge", forge_status, CallKind.UNARY),
        ("Hang", hang, CallKind.SERVER_STREAM),
        ("Silent", silent, CallKind.UNARY),
    ]:
        table.add(Handler(f"/raw.Svc/{name}", kind, fn))
    return table, seen


@pytest.mark.asyncio
async def test_handler_exception_is_unknown_without_internals(caplog: pytest.LogCaptureFixture):
    table, _ = _raw_table()
    async with Server(table) as server, httpx.AsyncClient(base_url=server.url) as client:
        res = await client.post("/raw.Svc/Crash", content=b"{}", headers=JSON)
    assert res.status_code == 500
    assert res.json() == {"code": "unknown", "message": "internal error in the method handler"}
    assert "secret internals" not in res.text
    # The server's log has it, on one line and without a traceback.
    [record] = [r for r in caplog.records if "secret internals" in r.getMessage()]
    assert record.getMessage() == "handler for /raw.Svc/Crash failed: ValueError: secret internals"
    assert record.exc_info is None


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/raw.Svc/Inject", "/raw.Svc/InjectTrailer"])
async def test_header_injection_is_refused(path: str):
    table, _ = _raw_table()
    async with Server(table) as server, httpx.AsyncClient(base_url=server.url) as client:
        res = await client.post(path, content=b"{}", headers=JSON)
    assert res.status_code == 500
    assert res.json()["code"] == "internal"
    assert "x-forged" not in res.headers
    assert "x-evil" not in res.headers and "trailer-x-evil" not in res.headers


@pytest.mark.asyncio
async def test_handlers_cannot_set_protocol_headers():
    table, _ = _raw_table()
    async with Server(table) as server, httpx.AsyncClient(base_url=server.url) as client:
        res = await client.post("/raw.Svc/Forge", content=b"{}", headers=JSON)
    assert (res.status_code, res.json()["code"]) == (404, "not_found")
    assert res.headers["content-type"] == "application/json"
    assert "grpc-status" not in res.headers


@pytest.mark.asyncio
async def test_unary_handler_without_a_response_is_unimplemented():
    table, _ = _raw_table()
    async with Server(table) as server, httpx.AsyncClient(base_url=server.url) as client:
        res = await client.post("/raw.Svc/Silent", content=b"{}", headers=JSON)
    assert (res.status_code, res.json()["code"]) == (501, "unimplemented")


@pytest.mark.asyncio
@pytest.mark.parametrize("http2", [False, True], ids=["h1", "h2c"])
async def test_client_disconnect_cancels_the_handler(http2: bool):
    table, seen = _raw_table()
    bus = EventBus()
    async with Server(table, bus=bus) as server:
        with bus.subscribe() as events:
            async with httpx.AsyncClient(http1=not http2, http2=http2) as client:
                headers = {"content-type": "application/connect+json"}
                body = b"\x00\x00\x00\x00\x02{}"
                async with client.stream(
                    "POST", server.url + "/raw.Svc/Hang", content=body, headers=headers
                ) as res:
                    async for _ in res.aiter_raw():
                        break  # the first message is in: now go away
            async with asyncio.timeout(10):
                await seen["cancelled"].wait()
                while (event := await events.get()).kind is not EventKind.END:
                    pass
    assert event.info["code"] == int(Code.CANCELLED)


@pytest.mark.asyncio
async def test_events_for_a_call(schema: Schema):
    bus = EventBus()
    async with Server(make_table(schema), schema=schema, bus=bus) as server:
        with bus.subscribe() as events:
            async with httpx.AsyncClient(base_url=server.url) as client:
                res = await client.post(
                    "/rpcctl.test.v1.TestService/Echo", json={"message": "ev"}, headers={"x-a": "1"}
                )
                assert res.status_code == 200
            got = []
            async with asyncio.timeout(10):
                while not got or got[-1].kind is not EventKind.END:
                    got.append(await events.get())
    assert [e.kind for e in got] == [EventKind.START, EventKind.REQUEST, EventKind.RESPONSE, EventKind.END]
    assert len({e.call_id for e in got}) == 1
    start, request, response, end = got
    assert start.method == "/rpcctl.test.v1.TestService/Echo"
    assert (start.info["protocol"], start.info["codec"]) == ("connect", "json")
    assert ["x-a", "1"] in start.info["headers"]
    assert request.message == {"message": "ev"}
    assert response.message["message"] == "ev"
    assert (end.info["code"], end.info["trailers"]) == (0, [["x-echo-trailer", "done"]])
    assert 0 < end.info["duration"] < 60  # seconds, measured from the start event


@pytest.mark.asyncio
async def test_events_without_schema_carry_raw_bytes(schema: Schema):
    bus = EventBus()
    async with Server(make_table(schema), bus=bus) as server:
        with bus.subscribe() as events:
            async with httpx.AsyncClient(base_url=server.url) as client:
                await client.post("/rpcctl.test.v1.TestService/Fail", json={"code": 9, "message": "no"})
            async with asyncio.timeout(10):
                got = [await events.get() for _ in range(3)]
    assert got[1].kind is EventKind.REQUEST
    assert (got[1].message, got[1].raw) == (None, b'{"code":9,"message":"no"}')
    assert (got[2].info["code"], got[2].info["message"]) == (9, "no")
