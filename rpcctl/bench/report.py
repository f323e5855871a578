"""The bench report: one run per protocol, each with its merged record; JSON in and out, merging."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rpcctl.bench.job import PartResult
from rpcctl.errors import UsageError

FORMAT_VERSION = 1
FORMAT_KEY = "rpcctl_bench"


@dataclass
class RunReport:
    """One protocol's run of the load (possibly merged from several processes or machines)."""

    protocol: str
    method: str
    targets: list[str]
    result: PartResult
    options: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    parts: int = 1
    scenario: dict[str, Any] = field(default_factory=dict)
    rpcctl_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the run."""
        return {
            "protocol": self.protocol,
            "method": self.method,
            "targets": self.targets,
            "started_at": self.started_at,
            "rpcctl_version": self.rpcctl_version,
            "parts": self.parts,
            "options": self.options,
            **({"scenario": self.scenario} if self.scenario else {}),
            **self.result.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        """Read back `to_dict`."""
        return cls(
            protocol=str(data["protocol"]),
            method=str(data["method"]),
            targets=list(data.get("targets", [])),
            result=PartResult.from_dict(data),
            options=dict(data.get("options", {})),
            started_at=str(data.get("started_at", "")),
            parts=int(data.get("parts", 1)),
            scenario=dict(data.get("scenario", {})),
            rpcctl_version=str(data.get("rpcctl_version", "")),
        )

    def merge(self, other: RunReport) -> None:
        """Add another part of the same run (another shard or machine)."""
        self.result.merge(other.result)
        self.parts += other.parts
        self.targets.extend(t for t in other.targets if t not in self.targets)
        for key, value in other.scenario.items():
            mine = self.scenario.get(key)
            if (
                isinstance(value, int | float)
                and isinstance(mine, int | float)
                and key != "rows_per_sec_per_runner"
            ):
                self.scenario[key] = mine + value
            else:
                self.scenario.setdefault(key, value)
        self.started_at = min(filter(None, (self.started_at, other.started_at)), default="")


@dataclass
class BenchReport:
    """Every run of one `rpcctl bench` invocation (one per protocol); `stopped` when Ctrl-C ended
    this invocation (not saved: a merge of interrupted runs was not itself interrupted)."""

    runs: list[RunReport]
    stopped: bool = False

    @property
    def error_rate(self) -> float:
        """The worst error rate over the runs."""
        return max((run.result.stats.error_rate for run in self.runs), default=0.0)

    @property
    def interrupted(self) -> bool:
        """True when Ctrl-C ended a run early (the report covers the calls that finished)."""
        return any(run.result.interrupted for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document."""
        return {FORMAT_KEY: FORMAT_VERSION, "runs": [run.to_dict() for run in self.runs]}

    def to_json(self) -> str:
        """The JSON document as text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> BenchReport:
        """Read a JSON document written by `-O json`; `UsageError` if it is not one."""
        if not isinstance(data, dict) or data.get(FORMAT_KEY) != FORMAT_VERSION:
            raise UsageError("not an rpcctl bench JSON report (write one with -O json)")
        try:
            return cls([RunReport.from_dict(run) for run in data["runs"]])
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"malformed rpcctl bench report: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> BenchReport:
        """Read a report file."""
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise UsageError(f"{path}: not JSON ({exc})") from None
        try:
            return cls.from_dict(data)
        except UsageError as exc:
            raise UsageError(f"{path}: {exc}") from None

    @classmethod
    def merged(cls, reports: list[BenchReport]) -> BenchReport:
        """Combine reports of the same load run in parts: runs are matched by protocol and method."""
        runs: dict[tuple[str, str], RunReport] = {}
        for report in reports:
            for run in report.runs:
                key = (run.protocol, run.method)
                if key in runs:
                    runs[key].merge(run)
                else:
                    runs[key] = RunReport.from_dict(run.to_dict())
        return cls(list(runs.values()))
