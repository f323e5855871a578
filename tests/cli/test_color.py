"""Colour and layout as HTTPie decides them: --color, NO_COLOR, FORCE_COLOR, --pretty/--compact."""

from __future__ import annotations

import pytest

from rpcctl.errors import UsageError
from rpcctl.output.style import color_wanted, output_style
from tests.conftest import GrpcServer
from tests.support.cli import CliResult, run_cli

G = ("--protocol", "grpc")
ESC = "\x1b["


@pytest.mark.parametrize(
    "choice,isatty,environ,expected",
    [
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": ""}, True),  # empty means unset (no-color.org)
        ("auto", False, {"FORCE_COLOR": "1"}, True),
        ("auto", False, {"FORCE_COLOR": "0"}, False),
        ("auto", False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        ("always", False, {"NO_COLOR": "1"}, True),
        ("never", True, {"FORCE_COLOR": "1"}, False),
    ],
)
def test_color_wanted(choice: str, isatty: bool, environ: dict[str, str], expected: bool) -> None:
    assert color_wanted(choice, isatty, environ) is expected


def test_layout_follows_the_terminal_unless_forced() -> None:
    assert output_style("never", None, True, {}).pretty is True
    assert output_style("never", None, False, {}).pretty is False
    assert output_style("never", False, True, {}).pretty is False
    assert output_style("never", True, False, {}).pretty is True


def test_unknown_color_choice() -> None:
    with pytest.raises(UsageError, match="auto, always or never"):
        color_wanted("sometimes", True, {})


def _call(server: GrpcServer, *options: str, tty: bool = False) -> CliResult:
    result = run_cli("call", server.target, "Echo", *G, "-d", '{"message": "hi"}', *options, tty=tty)
    assert result.exit_code == 0, result.stderr
    return result


def test_pretty_when_piped(grpc_server: GrpcServer) -> None:
    out = _call(grpc_server, "--pretty").stdout
    assert out.startswith('{\n  "message": "hi"')
    assert ESC not in out


def test_compact_on_a_terminal(grpc_server: GrpcServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    out = _call(grpc_server, "--compact", "--color", "never", tty=True).stdout
    assert out.startswith('{"message":"hi",')
    assert out.count("\n") == 1


def test_color_always_when_piped(grpc_server: GrpcServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = _call(grpc_server, "--color", "always").stdout
    assert ESC in out
    assert out.count("\n") == 1  # still the piped layout: one message per line


def test_no_color_on_a_terminal(grpc_server: GrpcServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = _call(grpc_server, tty=True).stdout
    assert ESC not in out
    assert out.startswith('{\n  "message": "hi"')


def test_force_color_when_piped(grpc_server: GrpcServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert ESC in _call(grpc_server).stdout
    assert ESC not in _call(grpc_server, "--color", "never").stdout


def test_bad_color_exits_2_before_connecting() -> None:
    result = run_cli("call", "127.0.0.1:1", "Echo", "--color", "purple")
    assert result.exit_code == 2
    assert result.stderr == "error: --color takes auto, always or never, not 'purple'\n"


def test_describe_template_in_colour_when_asked(grpc_server: GrpcServer) -> None:
    args = ("describe", grpc_server.target, "EchoRequest", *G, "--template")
    colored = run_cli(*args, "--color", "always")
    assert colored.exit_code == 0, colored.stderr
    assert ESC in colored.stdout
    plain = run_cli(*args)
    assert ESC not in plain.stdout
    assert plain.stdout.startswith('{\n  "message": ""')  # a skeleton to edit stays indented
