"""Connect error JSON, the end-stream message and unary ``trailer-`` headers.

Connect protocol, "Unary-Response" and "Error and EndStreamResponse". Reading follows the
Connect conformance suite: a unary error whose body is not a Connect error, or whose code
is missing or unknown, takes its code from the HTTP status ("HTTP to Error Code"); an
end-stream error with a missing or unknown code is UNKNOWN. Duplicate JSON keys keep the
last value (as Python's json and Go's encoding/json do); `check_connect_error` flags them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rpcctl import jsonsafe
from rpcctl.errors import ProtocolError, RpcError
from rpcctl.wire.metadata import (
    Metadata,
    check_name,
    check_value,
    clip,
    decode_binary_value,
    encode_binary_value,
    sanitize_for_terminal,
)
from rpcctl.wire.status import Code, http_status_text

if TYPE_CHECKING:
    from rpcctl.wire.error_detail import ErrorDetail

TYPE_URL_PREFIX = "type.googleapis.com/"
TRAILER_PREFIX = "trailer-"
JSON_CONTENT_TYPE = "application/json"
BODY_SNIPPET_CHARS = 200
MESSAGE_LIMIT = 4096
"""Characters of a peer's error message kept; the rest becomes an ellipsis."""
ERROR_KEYS = frozenset({"code", "message", "details"})
END_STREAM_KEYS = frozenset({"error", "metadata"})


def _known_code(value: object) -> Code | None:
    if not isinstance(value, str):
        return None
    code = Code.from_connect_name(value)
    return code if code.connect_name == value else None


def _details_from_json(value: object) -> tuple[ErrorDetail, ...]:
    # Lenient: entries without a usable type/value are skipped; `debug` is never read.
    if not isinstance(value, list):
        return ()
    from rpcctl.wire.error_detail import ErrorDetail

    details: list[ErrorDetail] = []
    for item in value:
        if not isinstance(item, dict):
            continue
        type_name, data = item.get("type"), item.get("value", "")
        if not isinstance(type_name, str) or not type_name or not isinstance(data, str):
            continue
        try:
            raw = decode_binary_value(data)
        except ValueError:
            continue
        type_url = type_name if "/" in type_name else TYPE_URL_PREFIX + type_name
        details.append(ErrorDetail(type_url, raw))
    return tuple(details)


def _error_from_json(obj: dict[str, Any], fallback: Code, fallback_text: str) -> RpcError:
    message = obj.get("message")
    message = clip(message, MESSAGE_LIMIT) if isinstance(message, str) else ""
    code = _known_code(obj.get("code"))
    if code is None:
        code = fallback
        # Keep the server's message (conformance error/missing-code); synthesize one if empty.
        raw = obj.get("code")
        message = message or (
            fallback_text if raw is None else f"{fallback_text} (unknown code {clip(repr(raw))})"
        )
    return RpcError(code, message, _details_from_json(obj.get("details")))


def _error_to_json(err: RpcError) -> dict[str, Any]:
    code = err.code if err.code is not Code.OK else Code.UNKNOWN
    out: dict[str, Any] = {"code": code.connect_name}
    if err.message:
        out["message"] = err.message
    if err.details:
        out["details"] = [{"type": d.type_name, "value": encode_binary_value(d.value)} for d in err.details]
    return out


def _body_snippet(body: bytes) -> str:
    chunk = body[: BODY_SNIPPET_CHARS * 4]
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(chunk) - 3:
            return f"{len(body)} bytes of binary body"
        # Only a multi-byte character cut by the slice.
        text = chunk[: exc.start].decode("utf-8")
    text = sanitize_for_terminal(" ".join(text.split()))
    if len(text) > BODY_SNIPPET_CHARS:
        text = text[: BODY_SNIPPET_CHARS - 1] + "…"
    return text


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media, _, params = content_type.partition(";")
    if media.strip().lower() != JSON_CONTENT_TYPE:
        return False
    charset = params.strip().lower().replace(" ", "")
    return charset in ("", "charset=utf-8")


def parse_connect_error(body: bytes, http_status: int, content_type: str | None) -> RpcError:
    """The error a Connect unary client reports for a non-200 response; never raises.

    ``body`` must already be decompressed. A body that is not a JSON error (HTML, a router's
    404, a proxy's 502) gives the code from the Connect protocol's "HTTP to Error Code" and a
    message with the start of the body.
    """
    fallback = Code.from_http_status(http_status)
    text = http_status_text(http_status)
    obj: object = None
    if _is_json(content_type):
        try:
            obj = jsonsafe.loads(body)
        except (ValueError, UnicodeDecodeError):
            obj = None
    if not isinstance(obj, dict):
        return RpcError(fallback, f"{text}: {_body_snippet(body)}" if body else text)
    return _error_from_json(obj, fallback, text)


def connect_error_body(err: RpcError) -> bytes:
    """The JSON body of a Connect unary error response."""
    return json.dumps(_error_to_json(err), separators=(",", ":")).encode()


def _pairs_hook_dupes(dupes: list[str]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                dupes.append(key)
            seen.add(key)
        return dict(pairs)

    return hook


def check_connect_error(body: bytes) -> list[str]:
    """Conformance problems in a Connect error JSON (the Connect conformance client's checks)."""
    dupes: list[str] = []
    try:
        obj = jsonsafe.loads(body, object_pairs_hook=_pairs_hook_dupes(dupes))
    except (ValueError, UnicodeDecodeError) as exc:
        return [f"error body is not JSON: {clip(str(exc))}"]
    if not isinstance(obj, dict):
        return ["error body is not a JSON object"]
    problems = [f"duplicate JSON key {clip(repr(key))}" for key in dupes]
    problems += [f"unexpected key {clip(repr(key))}" for key in obj if key not in ERROR_KEYS]
    if _known_code(obj.get("code")) is None:
        problems.append(f"code {clip(repr(obj.get('code')))} is not a Connect code")
    details = obj.get("details", [])
    for index, item in enumerate(details if isinstance(details, list) else [None]):
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str):
            problems.append(f"details[{index}] has no string value")
        elif value.endswith("="):
            problems.append(f"details[{index}].value is padded base64")
    return problems


def parse_end_stream(payload: bytes) -> tuple[RpcError | None, Metadata]:
    """Parse a Connect EndStreamResponse: the error (None on success) and the trailers.

    Raises ProtocolError INTERNAL on invalid JSON, a non-object, malformed metadata or a
    metadata key or value that could inject headers. The error carries the trailers too.
    """
    try:
        obj = jsonsafe.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(Code.INTERNAL, f"invalid end-stream message: {clip(str(exc))}") from exc
    if not isinstance(obj, dict):
        raise ProtocolError(Code.INTERNAL, "invalid end-stream message: not a JSON object")
    metadata = _metadata_from_json(obj.get("metadata"))
    error = obj.get("error")
    if error is None:
        return None, metadata
    if not isinstance(error, dict):
        raise ProtocolError(Code.INTERNAL, "invalid end-stream message: error is not an object")
    err = _error_from_json(error, Code.UNKNOWN, "end-stream error without a valid code")
    return RpcError(err.code, err.message, err.details, metadata.items()), metadata


def _metadata_from_json(value: object) -> Metadata:
    if value is None:
        return Metadata()
    if not isinstance(value, dict):
        raise ProtocolError(Code.INTERNAL, "invalid end-stream message: metadata is not an object")
    pairs: list[tuple[str, str]] = []
    for key, values in value.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ProtocolError(
                Code.INTERNAL, f"invalid end-stream metadata {clip(repr(key))}: expected a list of strings"
            )
        name = key.lower()
        check_name(name)
        for item in values:
            check_value(item, strict=False)
            pairs.append((name, item))
    return Metadata.from_wire_pairs(pairs)


def end_stream_body(err: RpcError | None, metadata: Metadata) -> bytes:
    """The JSON payload of a Connect EndStreamResponse (``{}`` on success, no trailers)."""
    obj: dict[str, Any] = {}
    if err is not None:
        obj["error"] = _error_to_json(err)
    if len(metadata):
        grouped: dict[str, list[str]] = {}
        for key, value in metadata.to_wire_pairs():
            grouped.setdefault(key, []).append(value)
        obj["metadata"] = grouped
    return json.dumps(obj, separators=(",", ":")).encode()


def split_trailer_headers(headers: Metadata) -> tuple[Metadata, Metadata]:
    """Split unary response headers: ``trailer-x`` entries become trailer ``x``."""
    plain = Metadata()
    trailers = Metadata()
    for key, value in headers:
        if key.startswith(TRAILER_PREFIX) and len(key) > len(TRAILER_PREFIX):
            trailers.add(key[len(TRAILER_PREFIX) :], value)
        else:
            plain.add(key, value)
    return plain, trailers


def join_trailer_headers(headers: Metadata, trailers: Metadata) -> Metadata:
    """The server side of `split_trailer_headers`: headers plus ``trailer-``-prefixed trailers."""
    out = headers.copy()
    for key, value in trailers:
        out.add(TRAILER_PREFIX + key, value)
    return out
