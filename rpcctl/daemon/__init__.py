"""The daemon: a process with rpcctl's call path already imported, forking one worker per command.

A cold `rpcctl call` spends most of its wall time importing Python modules (protobuf, asyncio,
typer). `rpcctl daemon start` keeps one process with those imports done, listening on a Unix
socket only its user may reach; `call`, `list` and `describe` then hand the command to it (the
arguments, working directory, environment, umask and the three standard file descriptors,
passed with SCM_RIGHTS), it forks a worker that runs the command exactly as a cold process
would, and the exit status comes back. Bazel's client/server split and Ruby's Spring preloader
work the same way.

- `place`: where the socket lives and which installation it belongs to (stdlib only).
- `client`: the hand-over, done before anything heavy is imported (stdlib only).
- `worker`: a forked worker taking on the client's streams, directory and environment.
- `server`: the preloading, accepting and reaping process.
"""
