"""The issue's trial as call events: a named task whose step fails, a gap, a resend, refused rows."""

from __future__ import annotations

from rpcctl.call_events import CallEvent
from rpcctl.runner.callstats import CallStats
from rpcctl.runner.logmodel import LogModel
from tests.tui.callevents import TX, Calls, rows

STAGES = [
    {
        "name": "build",
        "steps": [
            {"name": "checkout", "actions": [{"name": "git"}]},
            {"name": "compile", "actions": [{"name": "make"}, {"name": "test"}]},
        ],
    }
]
"""The task document's stages; steps are rows (`step_row_idx`), as the stand-in hands them out."""

MAKE = (0, 1, 0, 0)
TEST = (0, 1, 0, 1)
FAILURE = "make exited with status 2"
START = 1_700_000_000


def trial_events() -> list[CallEvent]:
    """Register, FetchTask, checkout succeeds, then make loses #3–#4 and the server refuses the rest."""
    c = Calls()
    return [
        *c.register("linux-1", "u-1", "tok-1", labels=("linux",), peer="10.0.0.1:1"),
        *c.fetch("tok-1", TX, stages=STAGES),
        *c.task(TX, 0, 0, "success", start=START, end=START + 2, actions=[(0, "git", "success")]),
        *c.log(TX, (0, 0, 0, 0), 0, rows("cloning", 0, 3), no_more=True),
        *c.task(TX, 0, 0, "running", row=1, start=START + 2, actions=[(0, "make", "running")]),
        *c.log(TX, MAKE, 0, rows("cc -c", 0, 3)),
        # #3–#4 are lost on the way; the server answers the earlier ack_index 3: refused.
        *c.log(TX, MAKE, 5, rows("cc -c", 5, 7), ack=3),
        *c.log(TX, TEST, 0, rows("test", 0, 2)),
        # The runner resends #5–#6 (not #3–#4): resent and refused again.
        *c.log(TX, MAKE, 5, rows("cc -c", 5, 7), ack=3),
        *c.log(TX, MAKE, 7, ["make: *** [all] Error 2"], no_more=True, ack=3),
        *c.log(TX, MAKE, 8, ["a row after no_more"], ack=3),
        *c.task(
            TX,
            0,
            0,
            "failure",
            row=1,
            start=START + 2,
            end=START + 6,
            message=FAILURE,
            actions=[(0, "make", "failure"), (1, "test", "skipped")],
            pipeline="failure",
        ),
    ]


def trial_model() -> LogModel:
    """A model with the trial ingested and a frozen clock."""
    model = LogModel(stats=CallStats(clock=lambda: 1000.0))
    model.ingest_many(trial_events())
    return model
