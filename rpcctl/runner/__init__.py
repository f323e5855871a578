"""The RunnerService domain: task documents, the stand-in server, the runner simulator.

- `tasks` — the task document format that `rpcctl serve --tasks FILE` reads.
- `states` — the state strings of steps, actions and pipelines.
- `messages` — the RunnerService message classes of a schema.
- `logstore` — the stand-in's log streams: ordering, gaps, resends and acks.
- `standin` — the stand-in RunnerService state and logic, on protobuf messages.
- `handlers` — the stand-in wired as server handlers.
- `pacing`, `simulator` — a simulated runner on rpcctl's client API.
"""
