"""Which log stream a row belongs to: one action of one step of one task."""

from __future__ import annotations

from typing import NamedTuple


class StreamKey(NamedTuple):
    """(tx_uuid, stage_idx, step_row_idx, step_idx, action_idx), as `UpdateLog` names a stream."""

    tx_uuid: str
    stage_idx: int
    step_row_idx: int
    step_idx: int
    action_idx: int
