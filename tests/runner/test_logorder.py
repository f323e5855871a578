"""Row order in views, marks (resent, refused, after no_more), ack state, names and state history."""

from __future__ import annotations

from rpcctl.runner.logstream import LogStream, Mark
from rpcctl.runner.tasknames import names_from_content
from rpcctl.tui.lines import build_lines
from tests.tui.callevents import TX
from tests.tui.trial import FAILURE, MAKE, START, trial_model

SKEY = (TX, *MAKE)


def test_a_row_filling_a_gap_sorts_with_its_stream() -> None:
    stream = LogStream(SKEY)
    stream.add(0, ["a", "b"], seq=1)
    stream.add(3, ["d"], seq=2)
    stream.add(2, ["c"], seq=5)  # resent late: it orders with #3, not after seq 4
    assert stream.indices == [0, 1, 2, 3]
    assert stream.order == [1, 1, 2, 2]


def test_marks_resent_refused_after_no_more() -> None:
    stream = LogStream(SKEY)
    stream.add(0, ["a", "b"], seq=1)
    assert stream.answer(0, 2, 2)
    stream.add(1, ["b", "c"], seq=2)  # #1 resent, #2 new
    assert not stream.answer(1, 2, 2)  # the server kept #1 only: #2 refused
    stream.add(2, ["C"], no_more=True, seq=3)  # #2 resent with another text
    stream.add(3, ["d"], seq=4)
    assert stream.marks == {
        1: Mark.RESENT,
        2: Mark.REFUSED | Mark.RESENT | Mark.CHANGED,
        3: Mark.AFTER_NO_MORE,
    }
    assert (stream.acked, stream.ack_mismatches) == (2, 1)


def test_a_refused_row_accepted_by_a_later_resend_is_no_longer_refused() -> None:
    # The connect-node peer's answers in the trial: #5-#6 refused twice, then accepted.
    stream = LogStream(SKEY)
    stream.add(0, ["0", "1", "2"], seq=1)
    assert stream.answer(0, 3, 3)
    stream.add(5, ["5", "6"], seq=2)
    assert not stream.answer(5, 2, 3)
    stream.add(5, ["5", "6"], seq=3)
    assert not stream.answer(5, 2, 3)
    assert stream.marks == {5: Mark.REFUSED | Mark.RESENT, 6: Mark.REFUSED | Mark.RESENT}
    stream.add(3, ["3", "4", "5", "6", "7"], seq=4)
    assert stream.answer(3, 5, 8)
    assert stream.marks == {5: Mark.RESENT, 6: Mark.RESENT}


def test_names_from_the_task_content() -> None:
    names = names_from_content(
        '{"stages": [{"name": "build", "steps": [{"name": "lint"}, [{"name": "a"}, {"name": "b",'
        ' "actions": [{"name": "make"}]}]]}]}'
    )
    assert names.stages == {0: "build"}
    assert names.steps == {(0, 0, 0): "lint", (0, 1, 0): "a", (0, 1, 1): "b"}
    assert names.actions == {(0, 1, 1, 0): "make"}
    assert not names_from_content("not json") and not names_from_content('{"stages": 3}')


def test_trial_step_history_keeps_message_time_and_duration() -> None:
    model = trial_model()
    step = model.tasks[TX].steps[(0, 1, 0)]
    assert [(e.state, e.message, e.time, e.duration) for e in step.history] == [
        ("running", "", START + 2, None),
        ("failure", FAILURE, START + 6, 4),
    ]
    assert model.tasks[TX].names.steps[(0, 1, 0)] == "compile"


def test_trial_stream_view_in_index_order_with_marks() -> None:
    model = trial_model()
    lines = build_lines(model, ("action", TX, *MAKE))
    shown = [(line.index, line.text, line.tags) for line in lines]
    assert shown == [
        (None, "── make #0 running ──", []),
        (0, "cc -c 0", []),
        (1, "cc -c 1", []),
        (2, "cc -c 2", []),
        (None, "── 2 rows missing: #3–#4 ──", []),
        (5, "cc -c 5", ["refused", "resent"]),
        (6, "cc -c 6", ["refused", "resent"]),
        (7, "make: *** [all] Error 2", ["refused"]),
        (8, "a row after no_more", ["refused", "after no_more"]),
        (None, "── make #0 failure ──", []),
    ]
    stream = model.streams[SKEY]
    assert (stream.acked, stream.ack_mismatches) == (3, 4)
    assert model.ack_mismatches == 4


def test_step_view_interleaves_streams_and_keeps_each_in_order() -> None:
    model = trial_model()
    lines = build_lines(model, ("step", TX, 0, 1, 0))
    rows = [(line.prefix, line.index) for line in lines if line.index is not None]
    assert rows == [
        ("make ", 0),
        ("make ", 1),
        ("make ", 2),
        ("make ", 5),
        ("make ", 6),
        ("test ", 0),
        ("test ", 1),
        ("make ", 7),
        ("make ", 8),
    ]
    task_view = build_lines(model, ("task", TX))
    # The action names are unique in the task: they suffice.
    assert {line.prefix for line in task_view if line.index is not None} == {"git  ", "make ", "test "}
    assert "compile " in {line.prefix for line in task_view if line.state}
    states = [line.text for line in lines if line.state]
    assert states == [
        "── compile #1 running at 22:13:22 ──",
        "── make #0 running ──",
        "── compile #1 failure at 22:13:26 after 4s: make exited with status 2 ──",
        "── make #0 failure ──",
        "── test #1 skipped ──",
    ]


def test_a_big_task_view_keeps_the_latest_rows_of_every_stream_in_order() -> None:
    from rpcctl.runner.logmodel import LogModel
    from rpcctl.tui import lines
    from tests.tui.callevents import Calls, rows

    c = Calls()
    model = LogModel()
    for batch in range(30):  # three streams take turns, 10 rows a batch
        action = batch % 3
        start = (batch // 3) * 10
        model.ingest_many(c.log(TX, (0, 0, 0, action), start, rows("r", start, start + 10)))
    limit, lines.MAX_LINES = lines.MAX_LINES, 25
    try:
        view = build_lines(model, ("task", TX))
    finally:
        lines.MAX_LINES = limit
    # At most 25 rows, the latest whole batches (a batch's rows arrive together): the last two.
    shown = [(line.prefix, line.index) for line in view if line.index is not None]
    assert shown == [("0/0/1 ", i) for i in range(90, 100)] + [("0/0/2 ", i) for i in range(90, 100)]
    markers = [(line.prefix, line.text) for line in view if line.index is None]
    assert markers == [  # each where its stream's hidden rows end
        ("0/0/1 ", "── 90 older rows not shown ──"),
        ("0/0/2 ", "── 90 older rows not shown ──"),
        ("0/0/0 ", "── 100 older rows not shown ──"),
    ]


def test_an_action_name_in_two_steps_is_prefixed_with_its_step() -> None:
    from rpcctl.runner.logmodel import LogModel
    from tests.tui.callevents import Calls, rows

    stages = [
        {
            "name": "build",
            "steps": [
                {"name": "debug", "actions": [{"name": "make"}]},
                {"name": "release", "actions": [{"name": "make"}]},
            ],
        }
    ]
    c = Calls()
    model = LogModel()
    model.ingest_many(
        [
            *c.fetch("tok", TX, stages=stages),
            *c.log(TX, (0, 0, 0, 0), 0, rows("d", 0, 1)),
            *c.log(TX, (0, 1, 0, 0), 0, rows("r", 0, 1)),
        ]
    )
    prefixes = [line.prefix for line in build_lines(model, ("task", TX)) if line.index is not None]
    assert prefixes == ["debug/make   ", "release/make "]
