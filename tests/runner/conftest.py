"""Fixtures of the RunnerService tests: the bundled runner schema and a stand-in service."""

from __future__ import annotations

from typing import Any

import pytest

from rpcctl.runner.messages import RunnerMessages
from rpcctl.runner.standin import StandInService
from rpcctl.schema.registry import Schema


@pytest.fixture(scope="session")
def runner_schema() -> Schema:
    """The bundled runner schema."""
    from rpcctl.schema.sources import bundled_files

    return Schema(bundled_files())


@pytest.fixture
def msgs(runner_schema: Schema) -> RunnerMessages:
    """Builds RunnerService messages."""
    return RunnerMessages(runner_schema)


@pytest.fixture
def service(runner_schema: Schema) -> StandInService:
    """An empty stand-in service."""
    return StandInService(runner_schema)


async def register(service: StandInService, msgs: RunnerMessages, *labels: str, name: str = "r") -> Any:
    """Register a runner; its RunnerResponse."""
    response = await service.register(msgs.new("RegisterRequest", name=name, labels=list(labels)))
    return response.runner
