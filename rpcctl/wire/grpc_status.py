"""gRPC status trailers: grpc-status, grpc-message, grpc-status-details-bin.

PROTOCOL-HTTP2.md, "Responses"; http-grpc-status-mapping.md; grpc-status-details-bin carries
the google.rpc.Status of gRPC's richer error model (grpc.io/docs/guides/error).

`status_from_metadata` is the client's decision procedure and never raises: whatever the
peer sent becomes a `Status`. `check_status_metadata` lists the protocol violations in a
block (duplicates, conflicts, bad escapes) so a debugging tool can show them.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

from google.protobuf.message import DecodeError

from rpcctl.errors import ProtocolError, Status
from rpcctl.wire.metadata import Metadata, Value, clip, decode_binary_value
from rpcctl.wire.status import Code, http_status_text

GRPC_STATUS = "grpc-status"
GRPC_MESSAGE = "grpc-message"
GRPC_STATUS_DETAILS = "grpc-status-details-bin"

# Percent-Byte-Unencoded = %x20-24 / %x26-7E; every other byte becomes %XX (uppercase hex).
_ESCAPE = [chr(b) if 0x20 <= b <= 0x7E and b != 0x25 else f"%{b:02X}" for b in range(256)]
# (Strings that `re` compiles on first use: a client sends no grpc-message, and reads one only
# from a failed call.)
_NEEDS_ESCAPE = r"[^\x20-\x24\x26-\x7e]"
# ASCII digits only: `\d` would take an Arabic-Indic "٣" as 3.
_STATUS_RE = re.compile(r"[0-9]+")
_STATUS_DIGITS = 3  # "016" is 16; anything longer than three significant digits is out of range
_MAX_CODE = max(Code)  # once: `max` over the enum costs microseconds on every call
_OUT_OF_RANGE = 1000
MESSAGE_LIMIT = 4096
"""Characters of a peer's grpc-message kept in a status; the rest becomes an ellipsis."""
_BAD_ESCAPE = r"[^\x20-\x7e]|%(?![0-9A-Fa-f]{2})"


def encode_grpc_message(message: str) -> str:
    """Percent-encode the UTF-8 bytes of ``message`` for the grpc-message header.

    A leading or trailing space is escaped too (``%20``): RFC 9113 §8.2.1 forbids a field
    value that starts or ends with whitespace, and receivers strip it.
    """
    if re.search(_NEEDS_ESCAPE, message):
        data = message.encode("utf-8", errors="replace")
        message = "".join([_ESCAPE[b] for b in data])
    if message.startswith(" ") or message.endswith(" "):
        stripped = message.strip(" ")
        if not stripped:
            return "%20" * len(message)
        lead = len(message) - len(message.lstrip(" "))
        trail = len(message) - len(message.rstrip(" "))
        message = "%20" * lead + stripped + "%20" * trail
    return message


def decode_grpc_message(value: str) -> str:
    """Decode a grpc-message leniently: bad escapes stay as text, bad UTF-8 becomes U+FFFD."""
    # unquote, never unquote_plus: '+' is a literal plus here.
    return unquote(value, errors="replace")


def encode_status_details(status: Status) -> str:
    """grpc-status-details-bin text: unpadded base64 of google.rpc.Status."""
    return base64.b64encode(status_to_proto(status)).rstrip(b"=").decode("ascii")


def status_to_proto(status: Status) -> bytes:
    """``status`` serialized as a google.rpc.Status message."""
    from google.protobuf import any_pb2
    from google.rpc import status_pb2  # only a status with details (a one-off call needs none)

    proto = status_pb2.Status(code=int(status.code), message=status.message)
    for detail in status.details:
        proto.details.append(any_pb2.Any(type_url=detail.type_url, value=detail.value))
    return proto.SerializeToString()


def decode_status_details(value: str | bytes) -> Status:
    """Parse grpc-status-details-bin: ``str`` is the base64 text, ``bytes`` the decoded proto.

    (A `Metadata` built by ``from_wire_pairs`` holds the decoded bytes.) Raises ProtocolError
    INTERNAL on invalid base64 or protobuf. Out-of-range codes become UNKNOWN.
    """
    if isinstance(value, str):
        try:
            value = decode_binary_value(value)
        except ValueError as exc:
            raise ProtocolError(Code.INTERNAL, f"malformed {GRPC_STATUS_DETAILS}: {exc}") from None
    from google.rpc import status_pb2  # only a status with details (a one-off call needs none)

    proto = status_pb2.Status()
    try:
        proto.ParseFromString(value)
    except DecodeError as exc:
        raise ProtocolError(Code.INTERNAL, f"malformed {GRPC_STATUS_DETAILS}: {exc}") from exc
    code = Code.from_number(proto.code)
    message = proto.message
    if code is Code.UNKNOWN and proto.code != Code.UNKNOWN:
        message = f"invalid status code {proto.code}" + (f": {message}" if message else "")
    from rpcctl.wire.error_detail import ErrorDetail

    details = tuple(ErrorDetail(d.type_url, d.value) for d in proto.details)
    return Status(code, message, details)


def status_to_metadata(status: Status) -> Metadata:
    """The server's status trailers; details-bin only when there are details (as connect-go)."""
    md = Metadata()
    md.add(GRPC_STATUS, str(int(status.code)))
    if status.message:
        md.add(GRPC_MESSAGE, encode_grpc_message(status.message))
    if status.details:
        md.add(GRPC_STATUS_DETAILS, status_to_proto(status))
    return md


def _choose_block(trailers: Metadata, headers: Metadata | None) -> Metadata:
    # Trailers that arrived win outright, even without grpc-status (as the Connect conformance
    # suite expects: trailers-only/ignore-header-if-trailer-present); otherwise the
    # headers are a Trailers-Only block.
    if len(trailers) or headers is None:
        return trailers
    return headers


def status_from_metadata(
    trailers: Metadata, headers: Metadata | None = None, http_status: int | None = None
) -> Status:
    """The RPC status a gRPC client reports for a response; never raises.

    Trailers beat headers; grpc-status-details-bin beats grpc-status/grpc-message, except
    that a details-bin claiming OK never hides a non-OK grpc-status; details-bin that cannot
    be parsed is ignored. Without grpc-status: a non-200 ``http_status`` gives the
    `Code.from_http_status` code (gRPC's http-grpc-status-mapping.md), else UNKNOWN (INTERNAL
    if the block is empty). A status outside 0-16 or not a number is UNKNOWN, with the raw
    value in the message. The caller handles a body that ends without trailers itself.
    """
    block = _choose_block(trailers, headers)
    raw_messages = block.get_all(GRPC_MESSAGE)
    message = clip(decode_grpc_message(_text(raw_messages[0])), MESSAGE_LIMIT) if raw_messages else ""
    raw_statuses = block.get_all(GRPC_STATUS)
    if not raw_statuses:
        if http_status is not None and http_status != 200:
            text = http_status_text(http_status)
            return Status(Code.from_http_status(http_status), _join(text, message))
        if not len(block):
            return Status(Code.INTERNAL, "stream ended without a status (no grpc-status)")
        return Status(Code.UNKNOWN, _join("response had no grpc-status", message))
    raw = _text(raw_statuses[0]).strip()
    number = _status_number(raw)
    if number is None:
        return Status(Code.UNKNOWN, _join(f"invalid grpc-status {clip(raw)!r}", message))
    if number > _MAX_CODE:
        return Status(Code.UNKNOWN, _join(f"grpc-status {clip(raw.lstrip('0'))} is out of range", message))
    code = Code(number)
    details_values = block.get_all(GRPC_STATUS_DETAILS)
    if details_values:
        try:
            rich = decode_status_details(details_values[0])
        except ProtocolError:
            return Status(code, message)
        if rich.code is Code.OK and code is not Code.OK:
            return Status(code, message, rich.details)
        return rich
    return Status(code, message)


def check_status_metadata(block: Metadata) -> list[str]:
    """Protocol violations in a status block (the Connect conformance client's checks)."""
    problems: list[str] = []
    statuses = block.get_all(GRPC_STATUS)
    messages = block.get_all(GRPC_MESSAGE)
    details_values = block.get_all(GRPC_STATUS_DETAILS)
    for name, values in ((GRPC_STATUS, statuses), (GRPC_MESSAGE, messages)):
        if len(values) > 1:
            problems.append(f"duplicate {name}: {len(values)} values")
    if len(details_values) > 1:
        problems.append(f"duplicate {GRPC_STATUS_DETAILS}: {len(details_values)} values")
    code: int | None = None
    if statuses:
        raw = _text(statuses[0])
        code = _status_number(raw)
        if code is None:
            problems.append(f"{GRPC_STATUS} {clip(raw)!r} is not a number")
        else:
            if len(raw) > 1 and raw.startswith("0"):
                problems.append(f"{GRPC_STATUS} {clip(raw)!r} has leading zeros")
            if code > _MAX_CODE:
                problems.append(f"{GRPC_STATUS} {clip(raw.lstrip('0'))} is outside 0-16")
    message = decode_grpc_message(_text(messages[0])) if messages else ""
    if code == 0 and message:
        problems.append(f"{GRPC_MESSAGE} is not empty although {GRPC_STATUS} is 0")
    if messages and _bad_escape(_text(messages[0])):
        problems.append(f"{GRPC_MESSAGE} is not correctly percent-encoded")
    if details_values:
        value = details_values[0]
        if isinstance(value, str):
            problems.append(f"{GRPC_STATUS_DETAILS} is not valid base64")
            return problems
        try:
            rich = decode_status_details(value)
        except ProtocolError as exc:
            problems.append(exc.message)
            return problems
        if code is not None and int(rich.code) != code:
            problems.append(
                f"{GRPC_STATUS_DETAILS} code {int(rich.code)} disagrees with {GRPC_STATUS} {code}"
            )
        if messages and rich.message != message:
            problems.append(f"{GRPC_STATUS_DETAILS} message disagrees with {GRPC_MESSAGE}")
        if code == 0 and rich.details:
            problems.append(f"{GRPC_STATUS_DETAILS} has details although {GRPC_STATUS} is 0")
    return problems


def _status_number(raw: str) -> int | None:
    """The number of an ASCII-digit grpc-status; past three digits, a value above every code."""
    if not _STATUS_RE.fullmatch(raw):
        return None
    significant = raw.lstrip("0") or "0"
    return int(significant) if len(significant) <= _STATUS_DIGITS else _OUT_OF_RANGE


def _bad_escape(raw: str) -> bool:
    if re.search(_BAD_ESCAPE, raw):
        return True
    try:
        unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return True
    return False


def _text(value: Value) -> str:
    return value if isinstance(value, str) else value.decode("latin-1")


def _join(prefix: str, message: str) -> str:
    return f"{prefix}: {message}" if message else prefix
