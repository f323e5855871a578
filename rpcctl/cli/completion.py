"""Shell completion: `rpcctl completion SHELL` prints a script; the script asks rpcctl back.

The script (bash, zsh or fish) runs `rpcctl` with `_RPCCTL_COMPLETE=SHELL` and
`_RPCCTL_COMPLETE_LINE` (the command line up to the cursor); rpcctl answers with one
candidate a line and makes no network call: method names, services and `describe` symbols
come from the schemas named on the command line (`--protoset`, `--proto`, compiled through
the on-disk schema cache) and from the reflection cache's entry for the line's target
(filled by an earlier command that reflected), never from the server. Like click's protocol, but the line is
split here with shell rules, because bash splits URLs at `:` (COMP_WORDBREAKS).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import DescriptorProto, FileDescriptorProto

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_RPCCTL_COMPLETE"
LINE_VAR = "_RPCCTL_COMPLETE_LINE"

_BASH = """\
# rpcctl completion for bash: eval "$(rpcctl completion bash)" in ~/.bashrc
_rpcctl_complete() {
    local IFS=$'\\n'
    COMPREPLY=($(env _RPCCTL_COMPLETE=bash _RPCCTL_COMPLETE_LINE="${COMP_LINE:0:COMP_POINT}" \\
        "${COMP_WORDS[0]}" 2>/dev/null))
    return 0
}
complete -o default -F _rpcctl_complete rpcctl
"""

_ZSH = """\
#compdef rpcctl
# rpcctl completion for zsh: eval "$(rpcctl completion zsh)" in ~/.zshrc (after compinit)
_rpcctl() {
    local -a candidates
    candidates=("${(@f)$(env _RPCCTL_COMPLETE=zsh _RPCCTL_COMPLETE_LINE="${BUFFER[1,CURSOR]}" \\
        rpcctl 2>/dev/null)}")
    if [[ -n "${candidates[*]}" ]]; then
        _describe -t rpcctl 'rpcctl' candidates
    else
        _files
    fi
}
compdef _rpcctl rpcctl
"""

# Like bash's `-o default` and zsh's `_files`: file names only when rpcctl offers nothing
# (an option's FILE), never mixed into a list of commands, options or methods.
_FISH = """\
# rpcctl completion for fish: rpcctl completion fish > ~/.config/fish/completions/rpcctl.fish
function __rpcctl_complete
    set -l candidates (env _RPCCTL_COMPLETE=fish _RPCCTL_COMPLETE_LINE=(commandline -cp) rpcctl 2>/dev/null)
    if test (count $candidates) -gt 0
        printf '%s\\n' $candidates
    else
        __fish_complete_path (commandline -ct)
    end
end
complete -c rpcctl -f -a '(__rpcctl_complete)'
"""

SCRIPTS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}


EXAMPLES = (
    (
        "bash: completion in this shell (add the line to ~/.bashrc to keep it)",
        'eval "$(rpcctl completion bash)"',
    ),
    ("zsh, after compinit", 'eval "$(rpcctl completion zsh)"'),
    ("fish", "rpcctl completion fish > ~/.config/fish/completions/rpcctl.fish"),
)


def completion_command(
    shell: Annotated[
        str,
        typer.Argument(
            help="bash, zsh or fish.",
            metavar="SHELL",
            show_default=False,
            autocompletion=lambda: list(SHELLS),
        ),
    ],
) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Commands, options, and method names and describe symbols from the schema files on the
    command line (--protoset, --proto) or the target's cached reflected schema (any earlier
    command that reflected it); completing never makes a network call.
    """
    script = SCRIPTS.get(shell.strip().lower())
    if script is None:
        raise typer.BadParameter(f"{shell!r} is not one of {', '.join(SHELLS)}", param_hint="SHELL")
    print(script, end="")


def split_line(line: str) -> tuple[list[str], str]:
    """The words before the cursor and the word being completed ('' after a space)."""
    import shlex

    lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    words: list[str] = []
    try:
        words.extend(lexer)
    except ValueError:  # an open quote: the rest is the word being typed
        words.append(lexer.token)
    if not line or line[-1].isspace():
        return words[1:], ""
    return words[1:-1], words[-1] if words else ""


def complete(command: Any, environ: Mapping[str, str]) -> int:
    """Print the candidates for the line in `environ` (the shell's protocol); exit status 0."""
    # typer (>= 0.26, pinned) carries its own click; its resolution of a partial command line
    from typer._click.shell_completion import ShellComplete

    class LineComplete(ShellComplete):
        """click's resolution of a partial line; the line comes from `split_line`."""

        source_template = ""

        def source_vars(self) -> dict[str, Any]:
            return {}

        def get_completion_args(self) -> tuple[list[str], str]:
            return split_line(environ.get(LINE_VAR, ""))

        def format_completion(self, item: Any) -> str:
            return str(item.value)

    shell = environ.get(COMPLETE_VAR, "bash")
    args, incomplete = split_line(environ.get(LINE_VAR, ""))
    # `--protocol=gr`: click completes the value alone; bash replaces only what follows the
    # '=' (COMP_WORDBREAKS), zsh and fish the whole word, so they get `--protocol=` again.
    option, equals, _ = incomplete.partition("=") if incomplete.startswith("--") else ("", "", "")
    again = f"{option}=" if equals and shell in ("zsh", "fish") else ""
    try:
        items = LineComplete(command, {}, "rpcctl", COMPLETE_VAR).get_completions(args, incomplete)
    except Exception:  # a half-typed line that click cannot resolve: no candidates, no traceback
        return 0
    for item in items:
        value, help_text = str(item.value), str(item.help or "")
        if item.type != "plain":
            continue  # files and directories: the shell's own completion does them
        if again and not value.startswith("-"):
            value = again + value
        if shell == "bash" and ":" in incomplete:
            # bash replaces only what follows the last ':' of the word (COMP_WORDBREAKS)
            value = value[incomplete.rindex(":") + 1 :] if value.startswith(incomplete) else value
        if shell == "zsh":
            value = value.replace(":", "\\:")
            print(f"{value}:{help_text}" if help_text else value)
        elif shell == "fish":
            print(f"{value}\t{help_text}" if help_text else value)
        else:
            print(value)
    return 0


def _schema_files(params: Mapping[str, Any]) -> list[FileDescriptorProto]:
    """The file descriptors of the line's schema: --protoset and --proto files, and the
    target's reflected schema if the reflection cache holds one, of any age (the call itself
    refreshes a stale one). Never the network; nothing on any error."""
    from rpcctl.errors import RpcctlError
    from rpcctl.schema.sources import load_proto_files, load_protoset

    files: list[FileDescriptorProto] = []
    try:
        for path in params.get("protosets") or ():
            files += load_protoset(Path(path))
        protos = [Path(p) for p in params.get("protos") or ()]
        if protos:
            files += load_proto_files(protos, [Path(p) for p in params.get("import_paths") or ()])
        if params.get("target") and params.get("reflect") is not False:
            files += _reflected_files(params)
    except (RpcctlError, OSError):
        return files
    return files


def _reflected_files(params: Mapping[str, Any]) -> list[FileDescriptorProto]:
    """What the reflection cache holds for the line's target and reflection headers."""
    import math

    from rpcctl.cli.options import channel_settings, connection_params
    from rpcctl.cli.session import parse_headers
    from rpcctl.loader import reflection_cache_key
    from rpcctl.schema.cache import ReflectionCache
    from rpcctl.schema.sources import parse_protoset

    settings = channel_settings(str(params["target"]), **connection_params(dict(params)))
    metadata = parse_headers(params.get("headers"), params.get("reflect_headers"))
    entry = ReflectionCache(max_age=math.inf).get(reflection_cache_key(settings, metadata))
    return [] if entry is None else parse_protoset(entry.protoset, "cached reflection")


def _messages(prefix: str, messages: Iterable[DescriptorProto]) -> Iterable[str]:
    for message in messages:
        name = f"{prefix}.{message.name}" if prefix else message.name
        yield name
        yield from _messages(name, message.nested_type)
        yield from (f"{name}.{enum.name}" for enum in message.enum_type)


def methods(files: Iterable[FileDescriptorProto]) -> list[str]:
    """Every method as `pkg.Service/Method`."""
    return [
        f"{_qualified(fd.package, service.name)}/{method.name}"
        for fd in files
        for service in fd.service
        for method in service.method
    ]


def symbols(files: Iterable[FileDescriptorProto]) -> list[str]:
    """Every service, method (`pkg.Service.Method`), message and enum, by full name."""
    names: list[str] = []
    for fd in files:
        for service in fd.service:
            full = _qualified(fd.package, service.name)
            names += [full, *(f"{full}.{method.name}" for method in service.method)]
        names += _messages(fd.package, fd.message_type)
        names += (_qualified(fd.package, enum.name) for enum in fd.enum_type)
    return names


def _qualified(package: str, name: str) -> str:
    return f"{package}.{name}" if package else name


def _matching(candidates: Iterable[str], incomplete: str) -> list[str]:
    """Full names that start with `incomplete` (the shells replace the word with them), once
    each; when none does, the shortest unambiguous suffix of each name that does (`Echo` for
    `pkg.Svc/Echo`: `call` and `describe` take any unique suffix)."""
    names = list(dict.fromkeys(candidates))
    full = [name for name in names if name.startswith(incomplete)]
    if full or not incomplete:
        return full
    suffixes: dict[str, list[str]] = {}
    for name in names:
        for cut in (i + 1 for i, char in enumerate(name) if char in "./"):
            suffixes.setdefault(name[cut:], []).append(name)
    short: dict[str, str] = {}
    for suffix, owners in sorted(suffixes.items(), key=lambda item: len(item[0])):
        if len(owners) == 1 and suffix.startswith(incomplete) and owners[0] not in short:
            short[owners[0]] = suffix
    return [short[name] for name in names if name in short]


def complete_method(ctx: typer.Context, incomplete: str) -> list[str]:
    """`call`'s METHOD: the methods of the schema files on the line."""
    return _matching(methods(_schema_files(ctx.params)), incomplete)


def complete_symbol(ctx: typer.Context, incomplete: str) -> list[str]:
    """`describe`'s SYMBOL: services, methods, messages and enums of the schema files on the line."""
    return _matching(symbols(_schema_files(ctx.params)), incomplete)


def complete_service(ctx: typer.Context, incomplete: str) -> list[str]:
    """`list`'s SERVICE: the services of the schema files on the line."""
    files = _schema_files(ctx.params)
    return _matching((_qualified(fd.package, s.name) for fd in files for s in fd.service), incomplete)


def completing(environ: Mapping[str, str] = os.environ) -> bool:
    """True when a completion script is asking (the process must only print candidates)."""
    return environ.get(COMPLETE_VAR, "") in SHELLS
