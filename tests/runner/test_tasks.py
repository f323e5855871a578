"""Task documents: loading, validation messages, FetchTask content and synthetic tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpcctl.errors import UsageError
from rpcctl.runner.tasks import load_tasks, parse_content, parse_tasks, synthetic_task

DATA = Path(__file__).parent / "data"


def test_example_file_loads() -> None:
    tasks = load_tasks(DATA / "tasks.json")
    assert [t.labels for t in tasks] == [("linux",), ("windows",)]
    first = tasks[0]
    assert first.tx_uuid == "3b0c6d1e-0000-4000-8000-000000000001"
    assert [s.name for s in first.stages] == ["build", "test"]
    assert first.stages[0].steps[1].actions[0].rows == 120
    assert first.stages[1].steps[1].fail
    assert first.step_keys() == [(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 1, 0)]
    assert tasks[1].tx_uuid  # generated
    assert tasks[1].fetch_content().startswith("stages:")


def test_content_round_trips_the_document() -> None:
    task = load_tasks(DATA / "tasks.json")[0]
    assert parse_content(task.fetch_content()) == task
    assert json.loads(task.fetch_content())["tx_uuid"] == task.tx_uuid


def test_yaml_file(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "tasks.yaml"
    path.write_text(
        "- tx_uuid: t1\n  stages:\n    - name: s\n      steps: [{name: a, actions: [{name: x}]}]\n"
    )
    assert load_tasks(path)[0].stages[0].steps[0].actions[0].name == "x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "invalid JSON at line 1"),
        ('{"tx_uuid": "a"}', "expected a list of tasks, got an object"),
        ('[{"tx_uuid": "a"}]', "task 0: 'stages' is missing"),
        ('[{"stages": [], "stage": 1}]', "task 0: unknown key 'stage'"),
        ('[{"stages": [{"name": "s", "steps": [{"actions": []}]}]}]', "stages[0].steps[0]: 'name' must be"),
        (
            '[{"stages": [{"name": "s", "steps": [{"name": "t", "actions": [{"name": "a", "rows": -1}]}]}]}]',
            "'rows' must be a whole number",
        ),
        ('[{"labels": "linux", "stages": []}]', "'labels' must be a list"),
        ('[{"tx_uuid": "a", "stages": []}, {"tx_uuid": "a", "stages": []}]', "task 1: duplicate tx_uuid 'a'"),
        ('[{"content": 3, "stages": []}]', "'content' must be a string"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_tasks(path)
    assert str(info.value).startswith(f"tasks file {path}: ")
    assert expected in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read tasks file .*nope.json: No such file"):
        load_tasks(tmp_path / "nope.json")


def test_content_that_is_not_a_task() -> None:
    with pytest.raises(UsageError, match="not a task document"):
        parse_content('{"stages": []}')


def test_synthetic_task() -> None:
    task = synthetic_task(stages=2, steps=3, actions=2, rows=7, labels=["x"], fail_step=(1, 2))
    assert len(task.step_keys()) == 6
    assert all(a.rows == 7 for st in task.stages for s in st.steps for a in s.actions)
    assert [s.fail for st in task.stages for s in st.steps] == [False] * 5 + [True]
    assert parse_tasks([task.to_dict()])[0] == task
