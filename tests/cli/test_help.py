"""Help that teaches: grouped options, word metavars, examples; usage errors in two lines."""

from __future__ import annotations

import importlib
import re

import pytest

from rpcctl.cli.app import COMMANDS
from tests.support.cli import CliResult, run_cli

TYPE_METAVAR = re.compile(r"<(?:str|int|float|path|list\[[^\]]*\]|[a-z]+ range)>|(?<!\{)\{[a-z_]+\}(?!\})")
CODEC_RULE = "Default, in every command: the protocol's own"


def _help(*command: str) -> str:
    """The help page (click writes it to the process's stdout, not the environment's)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = run_cli(*command, "--help")
    assert result.exit_code == 0, result.stderr
    text = out.getvalue() + result.stdout
    assert text.startswith(f"Usage: rpcctl {command[0]} "), text[:200]
    return text


def _usage_error(result: CliResult, *words: str) -> list[str]:
    """Exit 2, an `error:` line, then the usage line: nothing else, no help page."""
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: ")
    assert lines[1].startswith("Usage: rpcctl ")
    for word in words:
        assert word in lines[0]
    assert result.stdout == ""
    return lines


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_metavars_are_words(command: str) -> None:
    text = _help(command)
    assert not TYPE_METAVAR.search(text), TYPE_METAVAR.findall(text)


COMMAND_GROUPS = {"cache", "daemon"}  # a group: its subcommands carry the help


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - COMMAND_GROUPS))
def test_every_command_has_two_or_three_examples(command: str) -> None:
    text = _help(command)
    assert "\nExamples:\n" in text
    examples = text.split("\nExamples:\n", 1)[1].replace(" \\\n", " ")  # folded: one line again
    lines = [line.strip() for line in examples.splitlines() if line.strip()]
    commands = [line for line in lines if not line.startswith("#")]
    assert 2 <= len(commands) <= 3, commands
    assert len(lines) == 2 * len(commands)  # each example says what it does
    for line in commands:
        assert line.startswith(("rpcctl ", "eval ", "source ")), line
        assert f"rpcctl {command}" in line


def test_call_options_are_grouped_in_order() -> None:
    text = _help("call")
    headings = [line[:-1] for line in text.splitlines() if re.fullmatch(r"[A-Z][\w ]+:", line)]
    assert headings == [
        "Arguments",
        "Target and connection",
        "Schema",
        "Request",
        "Output",
        "Other options",
        "Examples",
    ]
    output = text.split("\nOutput:\n", 1)[1].split("\n\n", 1)[0]
    for option in ("--format", "--color", "--pretty / --compact", "--emit-defaults", "--verbose"):
        assert option in output


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - COMMAND_GROUPS))
def test_every_option_is_in_a_group(command: str) -> None:
    text = _help(command)
    rest = text.split("\nOther options:\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split()[0] for line in rest.splitlines() if line.startswith("  -")] == ["-h,"]


def test_the_codec_default_is_one_rule_stated_in_call_and_bench() -> None:
    for command in ("call", "bench", "replay"):
        assert CODEC_RULE in " ".join(_help(command).split()), command


def test_bench_codec_default_follows_the_protocol() -> None:
    from rpcctl.cli.app import COMMANDS, build_command

    bench = build_command("bench", COMMANDS["bench"])
    codec = next(p for p in bench.params if p.name == "codec")
    assert codec.default is None  # None: channel_settings picks the protocol's own


def test_missing_argument_is_one_line_and_the_usage() -> None:
    lines = _usage_error(run_cli("call", "http://127.0.0.1:1"), "missing METHOD", "pkg.Svc/Method")
    assert lines[1] == "Usage: rpcctl call [OPTIONS] TARGET METHOD"


@pytest.mark.parametrize("command", ["call", "replay", "bench"])
def test_no_arguments_is_not_the_help_page(command: str) -> None:
    _usage_error(run_cli(command), "missing ")


def test_describe_without_a_symbol_says_so_in_one_line() -> None:
    result = run_cli("describe")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: describe needs a SYMBOL")
    assert len(result.stderr.splitlines()) == 1


def test_missing_required_option_names_it() -> None:
    _usage_error(run_cli("replay", "capture.jsonl"), "missing --target")


def test_unknown_option_suggests_the_near_one() -> None:
    _usage_error(run_cli("call", "127.0.0.1:1", "Echo", "--formt", "json"), "--formt", "--format")


def test_non_number_for_a_number_option() -> None:
    lines = _usage_error(run_cli("demo", "--runners", "many"), "--runners", "many")
    assert "Traceback" not in lines[0]


def test_per_call_deadline_has_one_default_in_bench_and_replay() -> None:
    for command in ("bench", "replay"):
        timeout = _help(command).split("--timeout DURATION", 1)[1].split("\n  -", 1)[0]
        assert "Deadline of each call" in timeout and "20s unless given" in " ".join(timeout.split())
    assert "Bound everything the command does" in " ".join(_help("call").split())


@pytest.mark.parametrize(("args", "near"), [(["cal"], "call"), (["cache", "clr"], "clear")])
def test_unknown_command_is_one_line_with_the_near_one(args: list[str], near: str) -> None:
    lines = _usage_error(run_cli(*args), f"no such command '{args[-1]}'", f"did you mean {near}?")
    assert lines[1].startswith(f"Usage: rpcctl {' '.join(args[:-1])}".rstrip())


def test_unknown_option_near_miss_is_a_question() -> None:
    lines = _usage_error(run_cli("call", "127.0.0.1:1", "Echo", "--formt", "json"))
    assert lines[0] == "error: no such option: --formt (did you mean --format?)"


@pytest.mark.parametrize("command", ["call", "replay", "bench"])
def test_protocol_leads_the_connection_group(command: str) -> None:
    group = _help(command).split("Target and connection:\n", 1)[1]
    options = re.findall(r"^  (?:-\w, )?(--[\w-]+)", group.split("\n\n", 1)[0], re.MULTILINE)
    first = [o for o in options if o in ("--protocol", "--codec", "--grpc-web-text", "--http2")]
    assert first[0] == "--protocol", options


def test_cache_help_has_its_summary_and_whole_command_lines() -> None:
    text = _help("cache")
    assert text.split("\n\n")[1].strip() == "Clear or locate the cached schemas."
    assert "  clear  Remove every cached schema.\n" in text
    assert "Examples:" in text


CHOICES_ONLY = re.compile(r"[\w-]+(?:, [\w-]+)* or [\w-]+\.?")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_option_help_says_more_than_its_choices(command: str) -> None:
    """`--format summary|json|csv|html  summary, json, csv or html.` teaches nothing: the help
    of an option whose metavar lists its choices says what they do (or what the option is)."""
    said = []
    for match in re.finditer(
        r"^  (?:-\w, )?--[\w-]+ (\S+\|\S+)\s+(.*?)(?:  \[default|\n  [-\w]|\n\n)", _help(command), re.M | re.S
    ):
        text = " ".join(match[2].split())
        if CHOICES_ONLY.fullmatch(text):
            said.append(f"{match[1]}: {text}")
    assert not said


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_fits_80_columns(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long example is folded with shell line continuations, as a user could paste it."""
    monkeypatch.setenv("COLUMNS", "80")
    text = _help(command)
    assert [line for line in text.splitlines() if len(line) > 80] == []
    unfolded = " ".join(text.split("Examples:\n", 1)[1].replace("\\\n", " ").split())
    module = importlib.import_module(COMMANDS[command].module)
    for _, line in module.EXAMPLES:
        assert " ".join(line.split()) in unfolded


def test_a_group_without_its_command_names_the_commands() -> None:
    _usage_error(run_cli("cache"), "missing COMMAND", "clear or dir")
