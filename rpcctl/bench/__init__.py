"""Load testing: pacing, workers (several processes when asked), HDR latency histograms, reports.

The pieces, each in its own module:

- `plan` — what to run (stop condition, concurrency, rate, schedule, warmup, workers, shards);
- `schedule` — open-loop pacing: when each call is due;
- `template` and `payloads` — requests and headers, encoded once unless templated;
- `invoker` — how one call is made: the `Channel`'s cheap unary method, `Channel.open` for streams;
- `balancer` — several targets and the client-side balancing policies;
- `worker` — the event-loop side: closed and open loops, warmup, stop conditions;
- `processes` — the same load spread over N processes, results merged;
- `stats` and `histogram` — what is recorded, serialised and merged;
- `report` and `render/` — the report and its formats (summary, json, csv, html);
- `live` — the live view while a run goes.
"""
