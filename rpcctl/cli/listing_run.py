"""What `rpcctl list` does once its options are read: services, or one service's methods.

Typer-free: `rpcctl.cli.listing` declares the command for typer, and a plainly valid command
line reaches `list_schema` without typer (`rpcctl.cli.fastparse`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rpcctl.cli.command import run

if TYPE_CHECKING:
    from rpcctl.cli.env import Environment

HIDDEN_PREFIXES = ("grpc.reflection.",)


def list_schema(env: Environment, **params: Any) -> None:
    """List the services, or the methods of `params["service"]`, with the options of
    `rpcctl list` as its typer declaration in `rpcctl.cli.listing` gives them.

    Raises SystemExit with the exit status (`rpcctl.cli.command.run`)."""
    target, service, show_all, verbose = (params[n] for n in ("target", "service", "show_all", "verbose"))

    async def main() -> int:
        from rpcctl.cli import session
        from rpcctl.schema.registry import CallKind

        target_text, service_name = session.split_target(target, service)
        if service_name is None:
            loaded = await session.load_for_target(env, target_text, params)
            names = {svc.full_name for svc in loaded.schema.services()}
            names.update(loaded.unresolved_services)
            shown = sorted(n for n in names if show_all or not n.startswith(HIDDEN_PREFIXES))
            for name in shown:
                env.stdout.write(name + "\n")
            if not shown:
                env.stderr.write(_no_services(loaded, hidden=len(names)))
            return 0
        _, svc = await session.load_and_find(
            env, target_text, params, service_name, lambda schema: schema.find_service(service_name)
        )
        rows = [
            (
                f"{svc.full_name}.{m.name}",
                CallKind.of(m).label,
                f"{m.input_type.full_name} → {m.output_type.full_name}",
            )
            for m in svc.methods
        ]
        width = max((len(r[0]) for r in rows), default=0)
        kind_width = max((len(r[1]) for r in rows), default=0)
        for name, kind, types in rows:
            env.stdout.write(f"{name.ljust(width)}  {kind.ljust(kind_width)}  {types}\n")
        return 0

    run(env, main, verbose=verbose)


def _no_services(loaded: Any, hidden: int) -> str:
    """The stderr line of a `list` with nothing to show (stdout stays empty for scripts)."""
    if hidden:
        return "no services but server reflection itself (--all lists it)\n"
    if any(source.startswith("server reflection") for source in loaded.sources):
        return "the server lists no services\n"
    return "no services in the schema files\n"
