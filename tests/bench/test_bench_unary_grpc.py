"""Bench's unary calls over native gRPC: `RpcChannel.unary` (the cheap path) and `Channel.open`.

Against the grpcio test service and rpcctl's own server: the expected report, the same as the
general path's (``RPCCTL_BENCH_LEAN=0``). Against a scripted h2 server: the expected code and
message for each answer, on both paths (one answer, one verdict).
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import tempfile
import warnings
from pathlib import Path
from typing import Any

import h2.errors
import pytest

from rpcctl.bench.invoker import LEAN_ENV, ChannelInvoker
from rpcctl.call import MethodInfo
from rpcctl.errors import RpcError, TransportError
from rpcctl.schema.registry import CallKind
from rpcctl.wire.metadata import Metadata
from tests.bench.conftest import Recorder
from tests.bench.helpers import COUNT, ECHO, run_json, settings
from tests.bench.raw_h2 import HI, Answer, ScriptedH2, envelope, scripted_in_a_thread
from tests.conftest import Certs, GrpcServer

LIMIT = 5.0  # seconds: no scripted exchange waits longer


async def _outcome(invoker: Any, request: bytes = HI) -> tuple[str, str]:
    try:
        await invoker.connect()
        await invoker.unary(request, None)
    except RpcError as exc:
        return exc.code.name, exc.message
    finally:
        await invoker.aclose()
    return "OK", ""


# --- real servers ------------------------------------------------------------------------------


@pytest.fixture(params=["grpcio", "rpcctl"])
def any_server(request: pytest.FixtureRequest) -> str:
    """The grpcio test service or rpcctl's server (both serve native gRPC on h2c)."""
    if request.param == "grpcio":
        return str(request.getfixturevalue("grpc_server").target)
    return str(request.getfixturevalue("rpcctl_server"))


def test_unary_ok_with_templated_data_and_headers(any_server: str) -> None:
    run = run_json(any_server, "grpc", "proto", "Echo", "-n", "60", "-c", "8", "--connections", "2",
                   "-d", '{"message": "m{{seq}}"}', "-H", "x-seq: {{seq}}")  # fmt: skip
    assert run["stats"]["codes"] == {"OK": 60}
    assert run["stats"]["count"] == 60


def test_requests_and_metadata_reach_the_server(recorder: Recorder) -> None:
    data = '{"message": "m{{seq}}"}'
    run_json(
        recorder.target, "grpc", "proto", "Echo", "-n", "20", "-c", "3", "-d", data, "-H", "x-call: c-{{seq}}"
    )
    assert sorted(recorder.messages()) == sorted(f"m{n}" for n in range(20))
    assert sorted(recorder.header("x-call")) == sorted(f"c-{n}" for n in range(20))
    # rpcctl's own user agent, the one `rpcctl call` sends (grpcio's would name grpc-python).
    assert recorder.header("user-agent") == ["rpcctl/0.1"] * 20
    recorder.clear()
    run_json(recorder.target, "grpc", "proto", "Echo", "-n", "5", "-d", '{"message": "same"}', "-H", "x-k: v")
    assert recorder.messages() == ["same"] * 5
    assert recorder.header("x-k") == ["v"] * 5


def test_errors_counted_by_code_on_both_paths(
    any_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fail.jsonl"
    path.write_text('{"code": 5, "message": "gone 100%"}\n{"code": 7, "message": "no ☺"}\n{"code": 14}\n')
    args = ("Fail", "-n", "12", "-c", "3", "--data-file", str(path))
    for lean in ("1", "0"):
        monkeypatch.setenv(LEAN_ENV, lean)
        stats = run_json(any_server, "grpc", "proto", *args, expect=1)["stats"]
        assert stats["codes"] == {"NOT_FOUND": 4, "PERMISSION_DENIED": 4, "UNAVAILABLE": 4}, lean
        assert stats["messages"]["NOT_FOUND: gone 100%"] == 4, lean
        assert stats["messages"]["PERMISSION_DENIED: no ☺"] == 4, lean


def test_deadline_counted_on_both_paths(any_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("Echo", "-n", "4", "-c", "2", "--timeout", "0.1", "-d", '{"message": "s", "delay_ms": 400}')
    for lean in ("1", "0"):
        monkeypatch.setenv(LEAN_ENV, lean)
        stats = run_json(any_server, "grpc", "proto", *args, expect=1)["stats"]
        assert stats["codes"] == {"DEADLINE_EXCEEDED": 4}, lean


def test_unknown_method_is_unimplemented_on_both_paths(grpc_server: GrpcServer, rpcctl_server: str) -> None:
    nope = MethodInfo("/rpcctl.test.v1.TestService/Nope", CallKind.UNARY)

    async def main(target: str) -> tuple[tuple[str, str], tuple[str, str]]:
        chosen = settings(target, "grpc")
        async with asyncio.timeout(LIMIT):
            cheap = await _outcome(ChannelInvoker(chosen, nope, Metadata(), 2.0, cheap=True))
            general = await _outcome(ChannelInvoker(chosen, nope, Metadata(), 2.0, cheap=False))
        return cheap, general

    for target in (grpc_server.target, rpcctl_server):
        for code, _ in asyncio.run(main(target)):
            assert code == "UNIMPLEMENTED", target


def test_tls_with_alpn_h2(grpc_tls_server: GrpcServer, certs: Certs) -> None:
    # The run's event loop ends right after the bench: `H2Client.aclose` must have waited for
    # the TLS shutdown, or the socket is collected unclosed (a ResourceWarning).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = run_json(grpc_tls_server.target, "grpc", "proto", "Echo", "-n", "20", "-c", "4",
                       "--cacert", str(certs.cert), "-d", '{"message": "m{{seq}}"}')  # fmt: skip
        gc.collect()
    assert run["stats"]["codes"] == {"OK": 20}
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_unix_socket(test_schema: Any) -> None:
    from tests.servers.grpc_test_service import start_server

    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/grpc.sock"
        server, _ = start_server(test_schema.pool, reflection=(), address=f"unix:{path}")
        try:
            run = run_json(f"unix://{path}", "grpc", "proto", "Echo", "-n", "10", "-d", '{"message": "u"}')
        finally:
            server.stop(grace=None)
    assert run["stats"]["codes"] == {"OK": 10}


def test_streams_go_through_the_channel(grpc_server: GrpcServer) -> None:
    async def main() -> int:
        invoker = ChannelInvoker(settings(grpc_server.target, "grpc"), COUNT, Metadata(), 2.0)
        try:
            async with asyncio.timeout(LIMIT):
                return await invoker.stream([b"\x08\x03"], 0, None)  # count: 3
        finally:
            await invoker.aclose()

    assert asyncio.run(main()) == 3


# --- scripted responses --------------------------------------------------------------------------

CT = (("content-type", "application/grpc"),)
MSG = envelope(0, HI)
# (answer, expected code, a part of the expected message): what both the bench path
# (`RpcChannel.unary`) and the general path (`Channel.open`, as `rpcctl call` uses) must report.
EXPECTED: list[tuple[Answer, str, str]] = [
    (Answer(), "OK", ""),
    (Answer(headers=(("content-type", "application/grpc+proto"),)), "OK", ""),
    (Answer(trailers=(("grpc-status", "0"), ("x-trailer", "t"))), "OK", ""),
    (
        Answer(
            headers=(*CT, ("grpc-status", "5"), ("grpc-message", "gone%20away")), body=None, trailers=None
        ),
        "NOT_FOUND",
        "gone away",
    ),
    (
        Answer(headers=(*CT, ("grpc-status", "8")), trailers=(("grpc-status", "9"),)),
        "FAILED_PRECONDITION",
        "",
    ),
    (
        Answer(trailers=(("grpc-status", "3"), ("grpc-message", "%E2%98%BA bad%zz + plus"))),
        "INVALID_ARGUMENT",
        "☺ bad%zz + plus",
    ),
    (
        Answer("404", (("content-type", "text/html"),), b"<h1>nope</h1>", None),
        "UNIMPLEMENTED",
        "Received http2 header with status: 404",
    ),
    (Answer("503", (), None, None), "UNAVAILABLE", "status: 503"),
    (Answer("502", (("content-type", "text/html"),), b"<h1>502</h1>", None), "UNAVAILABLE", "status: 502"),
    (Answer("400", (("grpc-status", "7"), ("grpc-message", "x")), None, None), "PERMISSION_DENIED", "x"),
    (Answer(headers=(*CT, ("grpc-encoding", "gzip")), body=envelope(1, gzip.compress(HI))), "OK", ""),
    (Answer(body=envelope(1, gzip.compress(HI))), "INTERNAL", "compress"),  # without grpc-encoding
    (Answer(headers=(*CT, ("grpc-encoding", "gzip")), body=envelope(1, b"not gzip")), "INTERNAL", ""),
    (Answer(trailers=None), "UNKNOWN", "without trailers"),  # data but no trailers
    (Answer(trailers=(("x-other", "1"),)), "UNKNOWN", "grpc-status"),  # no grpc-status
    (Answer(body=envelope(0, b"x" * 2000)), "RESOURCE_EXHAUSTED", "1000"),  # above --max-msg-size
    (Answer(reset=h2.errors.ErrorCodes.REFUSED_STREAM), "UNAVAILABLE", ""),
    (Answer(reset=h2.errors.ErrorCodes.INTERNAL_ERROR), "INTERNAL", ""),
]


@pytest.mark.parametrize(("answer", "code", "message"), EXPECTED)
def test_each_response_gives_one_verdict_on_the_bench_and_call_paths(
    answer: Answer, code: str, message: str
) -> None:
    async def main() -> tuple[tuple[str, str], tuple[str, str]]:
        async with ScriptedH2(answer).running() as server:
            chosen = settings(f"127.0.0.1:{server.port}", "grpc", max_msg_size=1000)
            async with asyncio.timeout(LIMIT):
                cheap = await _outcome(ChannelInvoker(chosen, ECHO, Metadata(), 2.0, cheap=True))
                general = await _outcome(ChannelInvoker(chosen, ECHO, Metadata(), 2.0, cheap=False))
            return cheap, general

    cheap, general = asyncio.run(main())
    assert cheap[0] == code and message in cheap[1], cheap
    assert general[0] == code and message in general[1], general


# Where grpcio is lax (it reports OK, or waits for the deadline), rpcctl is strict on every path.
STRICTER: list[tuple[Answer, str, str]] = [
    (Answer(body=b""), "UNIMPLEMENTED", "the call ended without a response message"),
    (Answer(body=MSG + MSG), "UNIMPLEMENTED", "the server sent more than one response message"),
    (Answer(body=MSG[:-1]), "INVALID_ARGUMENT", "truncated envelope"),
    (Answer(body=envelope(4, HI)), "INTERNAL", "invalid envelope flags"),
    (Answer(headers=(("content-type", "text/html"),)), "UNKNOWN", "unexpected content type 'text/html'"),
    (Answer(headers=(("content-type", "application/grpc+json"),)), "INTERNAL", "does not match"),
    (Answer(trailers=(("grpc-status", "abc"),)), "UNKNOWN", "invalid grpc-status 'abc'"),
    (
        Answer(headers=(*CT, ("grpc-encoding", "br")), body=envelope(1, b"x")),
        "INTERNAL",
        "unknown compression",
    ),
]


@pytest.mark.parametrize(("answer", "code", "message"), STRICTER)
def test_malformed_responses_are_clear_errors(answer: Answer, code: str, message: str) -> None:
    async def main() -> list[tuple[str, str]]:
        async with ScriptedH2(answer).running() as server:
            chosen = settings(f"127.0.0.1:{server.port}", "grpc")
            async with asyncio.timeout(LIMIT):
                return [
                    await _outcome(ChannelInvoker(chosen, ECHO, Metadata(), 2.0, cheap=True)),
                    await _outcome(ChannelInvoker(chosen, ECHO, Metadata(), 2.0, cheap=False)),
                ]

    for got_code, got_message in asyncio.run(main()):
        assert got_code == code
        assert message in got_message


def test_request_headers_and_body() -> None:
    async def main() -> list[tuple[dict[str, str], bytes]]:
        async with ScriptedH2(Answer()).running() as server:
            chosen = settings(f"http://127.0.0.1:{server.port}/api", "grpc", authority="svc.example")
            static = Metadata([("x-static", "1"), ("x-raw-bin", b"\x00\xff\x01\x02")])
            invoker = ChannelInvoker(chosen, ECHO, static, 2.0)
            try:
                async with asyncio.timeout(LIMIT):
                    await invoker.connect()
                    await invoker.unary(HI, None)
                    await invoker.unary(HI, Metadata([("x-call", "7")]))
            finally:
                await invoker.aclose()
            return server.requests

    (first, body), (second, _) = asyncio.run(main())
    assert first[":method"] == "POST"
    assert first[":scheme"] == "http"
    assert first[":path"] == "/api/rpcctl.test.v1.TestService/Echo"  # the target's prefix, as buf curl
    assert first[":authority"] == "svc.example"
    assert first["te"] == "trailers"
    assert first["content-type"] == "application/grpc"
    assert first["grpc-timeout"] == "2000000u"
    assert first["x-static"] == "1"
    assert first["x-raw-bin"] == "AP8BAg"  # base64 without padding
    assert body == envelope(0, HI)
    assert second["x-call"] == "7"
    assert "x-static" not in second


def test_a_server_that_does_not_speak_h2_is_a_connect_error() -> None:
    async def main() -> str:
        async def http1(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)
            writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(http1, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        invoker = ChannelInvoker(settings(f"127.0.0.1:{port}", "grpc"), ECHO, Metadata(), 2.0)
        try:
            async with asyncio.timeout(LIMIT):
                with pytest.raises(TransportError) as caught:
                    await invoker.connect()
        finally:
            await invoker.aclose()
            server.close()
            await server.wait_closed()
        return str(caught.value)

    assert "HTTP/2" in asyncio.run(main())


def test_unreachable_target_fails_to_connect(closed_port: int) -> None:
    async def main() -> str:
        invoker = ChannelInvoker(settings(f"127.0.0.1:{closed_port}", "grpc"), ECHO, Metadata(), 2.0)
        try:
            with pytest.raises(TransportError) as caught:
                await invoker.connect()
        finally:
            await invoker.aclose()
        return str(caught.value)

    assert "cannot connect" in asyncio.run(main())


def test_garbage_from_an_h2_server_is_counted_not_a_crash() -> None:
    answer = Answer(headers=(("content-type", "text/html"),), body=b"<html>garbage</html>", trailers=None)
    with scripted_in_a_thread(answer) as port:
        run = run_json(f"127.0.0.1:{port}", "grpc", "proto", "Echo", "-n", "5", "-c", "2", expect=1)
    assert run["stats"]["codes"] == {"UNKNOWN": 5}
    assert run["stats"]["messages"] == {"UNKNOWN: unexpected content type 'text/html'": 5}


def test_a_request_above_the_receive_cap_goes_out() -> None:
    # --max-msg-size bounds what is received; the server enforces its own limit on requests.
    async def main() -> tuple[list[tuple[str, str]], list[int]]:
        async with ScriptedH2(Answer()).running() as server:
            chosen = settings(f"127.0.0.1:{server.port}", "grpc", max_msg_size=10)
            async with asyncio.timeout(LIMIT):
                outcomes = [
                    await _outcome(ChannelInvoker(chosen, ECHO, Metadata(), 2.0, cheap=cheap), b"x" * 11)
                    for cheap in (True, False)
                ]
            return outcomes, [len(body) for _, body in server.requests]

    outcomes, sizes = asyncio.run(main())
    assert outcomes == [("OK", ""), ("OK", "")]
    assert sizes == [16, 16]  # the 11-byte message in its envelope, on both paths


def test_a_native_grpc_answer_to_connect_names_the_protocol_on_both_paths() -> None:
    async def main() -> list[tuple[str, str]]:
        async with ScriptedH2(Answer()).running() as server:  # a plain native gRPC OK
            chosen = settings(f"127.0.0.1:{server.port}", "connect", codec="proto", http2=True)
            async with asyncio.timeout(LIMIT):
                return [
                    await _outcome(ChannelInvoker(chosen, ECHO, Metadata(), 2.0, cheap=cheap))
                    for cheap in (True, False)
                ]

    for code, message in asyncio.run(main()):
        assert code == "INTERNAL", message
        assert message.endswith("(the server speaks native gRPC: try --protocol grpc)")
