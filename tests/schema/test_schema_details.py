"""render_detail(): error details as JSON objects."""

from __future__ import annotations

import base64

from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from rpcctl.schema.details import render_detail
from rpcctl.schema.registry import Schema
from rpcctl.wire.error_detail import ErrorDetail

URL = "type.googleapis.com/"


def test_google_rpc_details_without_schema() -> None:
    info = error_details_pb2.ErrorInfo(reason="QUOTA", domain="example.com", metadata={"k": "v"})
    detail = ErrorDetail(URL + "google.rpc.ErrorInfo", info.SerializeToString())
    assert render_detail(detail, None) == {
        "@type": URL + "google.rpc.ErrorInfo",
        "reason": "QUOTA",
        "domain": "example.com",
        "metadata": {"k": "v"},
    }
    bad = error_details_pb2.BadRequest()
    bad.field_violations.add(field="name", description="required")
    rendered = render_detail(ErrorDetail(URL + "google.rpc.BadRequest", bad.SerializeToString()), None)
    assert rendered["fieldViolations"] == [{"field": "name", "description": "required"}]
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2))
    rendered = render_detail(ErrorDetail(URL + "google.rpc.RetryInfo", retry.SerializeToString()), None)
    assert rendered == {"@type": URL + "google.rpc.RetryInfo", "retryDelay": "2s"}


def test_all_standard_detail_types_render() -> None:
    for name in [
        "DebugInfo",
        "QuotaFailure",
        "PreconditionFailure",
        "ResourceInfo",
        "Help",
        "LocalizedMessage",
        "RequestInfo",
    ]:
        rendered = render_detail(ErrorDetail(URL + "google.rpc." + name, b""), None)
        assert rendered == {"@type": URL + "google.rpc." + name}, name


def test_schema_types_and_wkts(schema: Schema) -> None:
    cls = schema.message_class(schema.find_symbol("Inner"))  # type: ignore[arg-type]
    value = cls(name="n", values=[1, 2]).SerializeToString()
    detail = ErrorDetail(URL + "rpcctl.test.v1.Inner", value)
    assert render_detail(detail, schema) == {
        "@type": URL + "rpcctl.test.v1.Inner",
        "name": "n",
        "values": [1, 2],
    }
    assert render_detail(detail, None) == {
        "@type": URL + "rpcctl.test.v1.Inner",
        "@value": base64.b64encode(value).decode(),
    }
    duration = duration_pb2.Duration(seconds=1).SerializeToString()
    assert render_detail(ErrorDetail(URL + "google.protobuf.Duration", duration), None) == {
        "@type": URL + "google.protobuf.Duration",
        "value": "1s",
    }


def test_unknown_and_undecodable() -> None:
    assert render_detail(ErrorDetail("example.com/x.Y", b"\x01\x02"), None) == {
        "@type": "example.com/x.Y",
        "@value": "AQI=",
    }
    garbage = ErrorDetail(URL + "google.rpc.ErrorInfo", b"\xff\xff")
    assert render_detail(garbage, None) == {"@type": garbage.type_url, "@value": "//8="}
