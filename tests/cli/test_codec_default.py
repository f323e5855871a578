"""The codec each protocol speaks unless --codec says otherwise."""

from __future__ import annotations

import pytest

from rpcctl.cli.options import channel_settings
from rpcctl.errors import UsageError


@pytest.mark.parametrize(
    ("protocol", "expected"), [("connect", "json"), ("grpc", "proto"), ("grpc-web", "proto")]
)
def test_default_codec_per_protocol(protocol: str, expected: str) -> None:
    assert channel_settings("127.0.0.1:1", protocol=protocol).codec == expected
    assert channel_settings("127.0.0.1:1", protocol=protocol, codec=None).codec == expected


@pytest.mark.parametrize("protocol", ["connect", "grpc", "grpc-web"])
@pytest.mark.parametrize("codec", ["json", "proto"])
def test_an_explicit_codec_wins(protocol: str, codec: str) -> None:
    assert channel_settings("127.0.0.1:1", protocol=protocol, codec=codec).codec == codec


def test_an_unknown_codec_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        channel_settings("127.0.0.1:1", codec="xml")
