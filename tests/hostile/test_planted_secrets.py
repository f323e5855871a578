"""Credentials planted in a recorded runner session: none of them reaches the capture file.

One simulated runner registers, fetches a task and pushes its logs through the recording
proxy in front of the stand-in. Its calls carry a credential header of every name the
redaction rule covers, a registration token, and a task whose `content` holds environment
variables, `password` keys and a script with exports; its log rows print a token. With
redaction on, no planted value appears in the file, as text or as base64; with
`--no-redact`, every one does (so the planting itself is checked).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from rpcctl.call_events import EventBus
from rpcctl.client import open_channel
from rpcctl.proxy.forward import serve_proxy
from rpcctl.proxy.recorder import Recorder
from rpcctl.runner.simulator import RunnerOptions, SimulatedRunner
from rpcctl.runner.streamkey import StreamKey
from rpcctl.runner.tasks import parse_tasks
from rpcctl.transport.target import ChannelSettings, RpcProtocol, Target
from rpcctl.wire.metadata import Metadata
from tests.runner.replay_support import stand_in
from tests.support.schema import compile_runner_schema

HEADER_SECRETS = {
    "authorization": "Bearer planted-h-authorization",
    "proxy-authorization": "Basic planted-h-proxy",
    "cookie": "sid=planted-h-cookie",
    "x-auth": "planted-h-x-auth",
    "x-access-key": "planted-h-access-key",
    "x-session-id": "planted-h-session",
    "x-signature": "planted-h-signature",
    "authentication": "planted-h-authentication",
    "x-api-token": "planted-h-token",
    "x-client-secret": "planted-h-secret",
    "x-db-password": "planted-h-password",
    "x-credential": "planted-h-credential",
}
BINARY_SECRETS = {
    "x-auth-bin": b"planted-b-auth",
    "x-session-bin": b"planted-b-session",
    "x-signature-bin": b"planted-b-signature",
}
REGISTRATION_TOKEN = "planted-registration-token"
CONTENT_SECRETS = {
    "GITHUB_TOKEN": "ghp_plantedContentToken1",
    "password": "planted-content-password",
    "DB_PASSWORD": "planted-content-db-password",
    "AWS_SECRET_ACCESS_KEY": "planted-content-aws-secret",
    "NPM_AUTH_TOKEN": "planted-content-npm",
    "EXPORTED_TOKEN": "planted-content-exported",
}
ROW_SECRET = "planted-row-token"
STEP = {"name": "build", "actions": [{"name": "a", "rows": 3}]}


def _content(tx: str) -> str:
    return json.dumps(
        {
            "tx_uuid": tx,
            "stages": [{"name": "s", "steps": [STEP]}],
            "env": {"GITHUB_TOKEN": CONTENT_SECRETS["GITHUB_TOKEN"], "CI": "true"},
            "services": {"db": {"password": CONTENT_SECRETS["password"]}},
            "vars": [
                f"DB_PASSWORD={CONTENT_SECRETS['DB_PASSWORD']}",
                f"AWS_SECRET_ACCESS_KEY={CONTENT_SECRETS['AWS_SECRET_ACCESS_KEY']}",
            ],
            "script": f"npm config set //r/:_authToken x\nexport NPM_AUTH_TOKEN={CONTENT_SECRETS['NPM_AUTH_TOKEN']}\n"
            f"EXPORTED_TOKEN: {CONTENT_SECRETS['EXPORTED_TOKEN']}\n",
        }
    )


def _planted() -> list[bytes]:
    """Every planted value as a capture would hold it in clear (binary headers as base64)."""
    values = [v.encode() for v in HEADER_SECRETS.values()]
    values += [base64.b64encode(raw).rstrip(b"=") for raw in BINARY_SECRETS.values()]
    values += [v.encode() for v in CONTENT_SECRETS.values()]
    return [*values, REGISTRATION_TOKEN.encode(), ROW_SECRET.encode()]


def _row(key: StreamKey, index: int) -> str:
    return f"line {index}: GITHUB_TOKEN={ROW_SECRET}"


async def _record(path: Path, redact: bool) -> None:
    schema = compile_runner_schema()
    tasks = parse_tasks([{"tx_uuid": "t-secret", "stages": [], "content": _content("t-secret")}])
    bus = EventBus()
    async with (
        stand_in(schema, tasks) as source,
        Recorder(bus, path, schema, redact=redact),
        serve_proxy(source.server.url, bus=bus, schema=schema) as proxy,
    ):
        channel = open_channel(ChannelSettings(Target.parse(proxy.url), protocol=RpcProtocol.CONNECT))
        try:
            options = RunnerOptions(registration_token=REGISTRATION_TOKEN, max_duration=30, row_text=_row)
            runner = SimulatedRunner(channel, schema, "planted", ["linux"], options)
            runner.metadata = Metadata([*HEADER_SECRETS.items(), *BINARY_SECRETS.items()])
            summary = await runner.run()
        finally:
            await channel.aclose()
    assert summary.ok, summary.last_error
    assert summary.rows_sent >= 3


@pytest.mark.asyncio
@pytest.mark.parametrize("redact", [True, False])
async def test_planted_credentials(tmp_path: Path, redact: bool) -> None:
    path = tmp_path / "session.jsonl"
    await _record(path, redact)
    data = path.read_bytes()
    leaked = [secret for secret in _planted() if secret in data]
    assert not any(raw in data for raw in BINARY_SECRETS.values())
    if redact:
        assert leaked == [], f"{len(leaked)} of {len(_planted())} planted values leaked"
    else:
        assert len(leaked) == len(_planted())
