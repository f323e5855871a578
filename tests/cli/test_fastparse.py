"""`rpcctl.cli.fastparse`: a plainly valid command line read without typer gives the function
what typer gives it; anything else is left to typer (None).

The spec module is regenerated from the typer commands and must equal the committed one; the
reader's values are checked against stated expectations and, over a corpus and a hypothesis
strategy, against click's own `make_context(...).params` and typer's conversion of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpcctl.cli.app import COMMANDS
from rpcctl.cli.fastparse import (
    FLAG,
    PATH,
    TEXT,
    Argument,
    CommandSpec,
    Option,
    PathChecks,
    click_params,
    function_params,
    read,
)
from rpcctl.cli.fastspec import SPECS
from rpcctl.cli.fastspec_build import TARGET, build_specs, render

FAST = sorted(SPECS)
URL, METHOD = "http://127.0.0.1:1", "pkg.Svc/M"


def test_the_spec_module_is_the_one_generated_from_the_typer_commands() -> None:
    """Adding or changing an option without `python -m rpcctl.cli.fastspec_build` fails here."""
    fresh = build_specs()
    assert fresh == SPECS
    assert render(fresh) == TARGET.read_text()
    assert sorted(fresh) == sorted(name for name, entry in COMMANDS.items() if entry.fast)


def _call(*args: str) -> dict[str, Any] | None:
    return read(SPECS["call"], [URL, METHOD, *args])


def test_plain_call_gets_every_parameter_with_its_default() -> None:
    params = _call()
    assert params is not None
    assert params["target"] == URL and params["method"] == METHOD
    assert params["data"] is None and params["fmt"] == "json" and params["protocol"] == "connect"
    assert params["pretty"] is None and params["reflect"] is None and params["insecure"] is False
    assert params["protosets"] is None and params["headers"] is None  # typer: empty repeatable → None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--data={}"], {"data": "{}"}),
        (["--data="], {"data": ""}),
        (["-d", "@-"], {"data": "@-"}),
        (["-d{}"], {"data": "{}"}),
        (["-d=x"], {"data": "=x"}),  # click: a short option's attached value is all that follows
        (["-d", "-5"], {"data": "-5"}),  # an option's value is taken whatever it looks like
        (["-d", "--get"], {"data": "--get", "use_get": False}),
        (["-kv"], {"insecure": True, "verbose": True}),
        (["-kvd", "{}"], {"insecure": True, "verbose": True, "data": "{}"}),
        (["-H", "a: 1", "--header", "b: 2", "-Hc: 3"], {"headers": ["a: 1", "b: 2", "c: 3"]}),
        (["--no-reflect"], {"reflect": False}),
        (["--no-reflect", "--reflect"], {"reflect": True}),
        (["--compact"], {"pretty": False}),
        (["--timeout", "1s", "--timeout", "2s"], {"timeout": "2s"}),
        (["--protoset", "a.pb", "--protoset=b.pb"], {"protosets": [Path("a.pb"), Path("b.pb")]}),
        (
            ["-I", ".", "--export-protoset", "out.pb"],
            {"import_paths": [Path(".")], "export_protoset": Path("out.pb")},
        ),
        (["--cacert", "/"], {"cacert": Path("/")}),
    ],
)
def test_options_read_as_click_reads_them(args: list[str], expected: dict[str, Any]) -> None:
    params = _call(*args)
    assert params is not None
    assert {name: params[name] for name in expected} == expected


def test_arguments_may_come_after_and_between_options() -> None:
    params = read(SPECS["call"], ["-k", URL, "--protocol", "grpc", METHOD, "-v"])
    assert params is not None
    assert (params["target"], params["method"], params["protocol"]) == (URL, METHOD, "grpc")
    assert params["insecure"] is params["verbose"] is True


@pytest.mark.parametrize(
    "args",
    [
        [URL, METHOD, "-h"],
        [URL, METHOD, "--help"],
        [URL, METHOD, "-kh"],
        [URL],  # a missing argument
        [URL, METHOD, "extra"],
        [URL, METHOD, "--"],
        ["--", URL, METHOD],
        [URL, METHOD, "--dat", "x"],  # click has no abbreviations: "did you mean"
        [URL, METHOD, "--nope"],
        [URL, METHOD, "-z"],
        [URL, METHOD, "-kz"],
        [URL, METHOD, "-k=1"],
        [URL, METHOD, "--get=yes"],  # a flag takes no value
        [URL, METHOD, "--get="],
        [URL, METHOD, "-d"],  # a value is missing
        [URL, METHOD, "--protoset", "a\0b"],  # not a path
    ],
)
def test_anything_not_plainly_valid_is_left_to_typer(args: list[str]) -> None:
    assert read(SPECS["call"], args) is None


def test_help_given_as_a_value_is_a_value() -> None:
    params = _call("-d", "--help")
    assert params is not None and params["data"] == "--help"


def test_path_checks_are_clicks(tmp_path: Path) -> None:
    def spec(checks: PathChecks) -> CommandSpec:
        return CommandSpec((), (Option("p", ("--p",), (), PATH, False, None, checks, "path"),), ("--help",))

    plain = PathChecks(False, True, True, True, False, False, False)
    must_exist = plain._replace(exists=True)
    files_only = plain._replace(dir_okay=False)
    dirs_only = plain._replace(file_okay=False)
    a_file = tmp_path / "f"
    a_file.write_text("x")
    missing = str(tmp_path / "missing")
    assert read(spec(plain), ["--p", missing]) == {"p": Path(missing)}
    assert read(spec(must_exist), ["--p", missing]) is None
    assert read(spec(must_exist), ["--p", str(a_file)]) == {"p": a_file}
    assert read(spec(files_only), ["--p", str(tmp_path)]) is None
    assert read(spec(dirs_only), ["--p", str(a_file)]) is None
    assert read(spec(plain._replace(allow_dash=True)), ["--p", "-"]) == {"p": Path("-")}
    resolved = read(spec(plain._replace(resolve_path=True)), ["--p", str(tmp_path / "." / "f")])
    assert resolved == {"p": a_file.resolve()}


def test_an_optional_argument_left_out_is_its_default() -> None:
    spec = CommandSpec(
        (Argument("a", False, None, TEXT, None, None), Argument("b", False, "z", TEXT, None, None)),
        (Option("f", ("-f",), (), FLAG, False, False, None, None),),
        ("--help",),
    )
    assert read(spec, ["-f"]) == {"a": None, "b": "z", "f": True}
    assert read(spec, ["x", "-f", "y"]) == {"a": "x", "b": "y", "f": True}


# -- against click itself ---------------------------------------------------------------


def _click(name: str, args: list[str]) -> dict[str, Any] | None:
    """click's `Context.params` for `rpcctl NAME ARGS`, or None where click refuses them."""
    import typer

    from rpcctl.cli.group import app

    group = typer.main.get_command(app)
    root = group.make_context("rpcctl", [name])
    command = group.get_command(root, name)
    try:
        ctx = command.make_context(name, list(args), parent=root)
    except Exception:  # a usage error, or help (click's Exit)
        return None
    return dict(ctx.params)


def _typer(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """What typer passes the function for click's `params` (`typer.main.get_callback`)."""
    import importlib

    from typer.main import get_params_convertors_ctx_param_name_from_function

    entry = COMMANDS[name]
    function = getattr(importlib.import_module(entry.module), entry.attribute)
    _, convertors, _ = get_params_convertors_ctx_param_name_from_function(function)
    return {k: convertors[k](v) if k in convertors else v for k, v in params.items()}


def _agrees(name: str, args: list[str]) -> dict[str, Any] | None:
    ours = click_params(SPECS[name], args)
    theirs = _click(name, args)
    if ours is not None:
        assert ours == theirs, args
        assert function_params(SPECS[name], ours) == _typer(name, ours)
    return ours


CORPUS = [
    [URL, METHOD],
    [URL, METHOD, "--data={}", "-H", "a: 1", "-H", "b: 2", "-kv"],
    ["-d", "@-", URL, METHOD, "--no-reflect", "--protoset", "x.pb"],
    [URL, "-d", "-5", METHOD, "--timeout=-1s"],
    [URL, METHOD, "-d=x", "-kvd", "y", "-Hz: 1", "--pretty", "--compact"],
    [URL, METHOD, "--cacert", "/", "-I", ".", "-I", "..", "--export-protoset", "/tmp"],
    [URL, METHOD, "--get=", "--help"],
    [URL, METHOD, "--", "-x"],
    [URL, METHOD, "-"],
    ["-", "-"],
    [URL, "", ""],
    [URL, METHOD, "-d"],
]


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("args", CORPUS)
def test_the_corpus_reads_as_click_reads_it(name: str, args: list[str]) -> None:
    _agrees(name, args)


def test_most_of_the_corpus_is_read_without_typer() -> None:
    read_here = [_agrees("call", args) is not None for args in CORPUS]
    assert read_here == [True] * 6 + [False, False, False, True, False, False]


def _words(spec: CommandSpec) -> st.SearchStrategy[list[str]]:
    """Command lines of the spec's arguments and options, each option spelled any way click
    allows (``--x v``, ``--x=v``, ``-xv``, clusters), values that look like options, and
    now and then a word that makes the line wrong."""
    values = st.sampled_from(["", "-", "--", "-5", "=", "a=b", "@-", "{}", ".", "/", "x.pb", "--data", "-h"])
    flags = [n for o in spec.options if o.kind == FLAG for n in (*o.opts, *o.secondary)]
    takers = [n for o in spec.options if o.kind != FLAG for n in o.opts]
    short_flags = [n[1] for n in flags if len(n) == 2]

    def spelled(name: str, value: str) -> st.SearchStrategy[list[str]]:
        ways = [[name, value], [f"{name}{value}" if len(name) == 2 else f"{name}={value}"]]
        return st.sampled_from(ways)

    option = st.one_of(
        st.sampled_from(flags).map(lambda n: [n]),
        st.tuples(st.sampled_from(takers), values).flatmap(lambda nv: spelled(*nv)),
        st.lists(st.sampled_from(short_flags), min_size=1, max_size=3).map(lambda cs: ["-" + "".join(cs)]),
    )
    wrong = st.one_of(
        st.sampled_from([*spec.help, "--", "--nope", "-z", "--get=1", "extra"]), st.text("-=ab", max_size=4)
    ).map(lambda w: [w])
    chunks = st.lists(st.one_of(option, option, option, wrong), max_size=8)
    arguments = st.lists(
        st.sampled_from([URL, METHOD, "svc", "-"]), min_size=len(spec.arguments), max_size=len(spec.arguments)
    )

    def mixed(draw_chunks: list[list[str]], args: list[str], at: list[int]) -> list[str]:
        for place, arg in zip(at, args, strict=False):
            draw_chunks.insert(min(place, len(draw_chunks)), [arg])
        return [word for chunk in draw_chunks for word in chunk]

    return st.builds(mixed, chunks, arguments, st.lists(st.integers(0, 8), min_size=2, max_size=2))


@pytest.mark.parametrize("name", FAST)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_command_line_reads_as_click_reads_it_or_is_left_to_typer(name: str, data: st.DataObject) -> None:
    _agrees(name, data.draw(_words(SPECS[name])))
