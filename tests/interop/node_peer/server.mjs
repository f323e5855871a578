// A connect-node peer for rpcctl's interop tests.
//
// Usage: node server.mjs DESCRIPTOR_SET
//
// DESCRIPTOR_SET is a binary google.protobuf.FileDescriptorSet (protoc --include_imports) with
// rpcctl/test/v1/test.proto, pkg/proto/runner/v1/runner.proto and google/rpc/error_details.proto.
// The schema is loaded at run time: there is no generated code.
//
// One listener on 127.0.0.1, port 0, serves Connect, gRPC and gRPC-Web over HTTP/1.1 and h2c
// (prior knowledge). TestService is served at the root; RunnerService both under
// /api/v1/pipeline (connect-go style) and at the root (native gRPC cannot send a prefix).
// The chosen port is printed as one JSON line on stdout: {"port": N}.
// With a second argument `--prefix-only`, only RunnerService under /api/v1/pipeline (and the
// control surface) is served; everything else is 404 (Connect "unimplemented", for gRPC a
// trailers-only UNIMPLEMENTED), so a client that drops the prefix fails.
// The process exits when stdin closes, or on SIGTERM / SIGINT.
//
// RunnerService is a small stand-in with state, written independently of rpcctl's own:
// - Register issues an id (1, 2, ...), a random uuid and a random token (any registration
//   token is accepted); Declare finds the runner by token (unknown: UNAUTHENTICATED) and
//   uuid (another: NOT_FOUND) and updates its version and labels when given.
// - FetchTask (token checked) hands out the first queued task whose labels the runner has
//   (the request's labels, else the registered ones); `content` is the task's own text when
//   one was given, else the task document as JSON with its "tx_uuid". None left: success=false.
// - UpdateTask (unknown tx_uuid: NOT_FOUND) records the step's state and answers success with
//   pipeline_state "cancelled" once the task was cancelled, else "failure" once a step failed,
//   else "success" once every step of the document reported a final state, else "running".
// - UpdateLog keeps rows per (tx_uuid, stage_idx, step_row_idx, step_idx, action_idx):
//   index == next appends and acks index + len(rows); index < next appends only the new
//   tail and acks the new next; index > next stores nothing and acks next (the runner
//   resends); no_more closes the stream (later new rows: FAILED_PRECONDITION); a negative
//   index: INVALID_ARGUMENT; an unknown tx_uuid: NOT_FOUND.
//
// Plain-HTTP control surface for tests, on the same port (JSON in and out):
// - POST /__peer/tasks  body: one task document or a list ({"tx_uuid"?, "labels"?,
//   "content"?, "stages": [{"name", "steps": [{"name", "actions": [...]}]}]});
//   a missing tx_uuid gets a random UUID. Answers {"tx_uuids": [...]}.
// - POST /__peer/cancel/{tx}  cancels a queued or handed-out task (404 if unknown).
// - GET /__peer/rows/{tx}  {"tx_uuid", "runner_uuid", "cancelled", "streams": {"s/r/st/a":
//   {"rows": [...], "closed": bool}}, "steps": {"s/r/st": state}, "updates": {"s/r/st": n}}.
// - POST /__peer/reset  empties the task queue (runners, tasks and rows are kept).

import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";

import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

const RUNNER_PREFIX = "/api/v1/pipeline";
const PREFIX_ONLY = process.argv[3] === "--prefix-only";

const descriptorSetPath = process.argv[2];
if (!descriptorSetPath) {
  process.stderr.write("usage: node server.mjs DESCRIPTOR_SET\n");
  process.exit(2);
}

const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath)),
);

function mustGet(kind, name) {
  const desc = kind === "service" ? registry.getService(name) : registry.getMessage(name);
  if (!desc) {
    throw new Error(`${kind} ${name} is not in ${descriptorSetPath}`);
  }
  return desc;
}

const TestService = mustGet("service", "rpcctl.test.v1.TestService");
const RunnerService = mustGet("service", "pkg.proto.runner.v1.RunnerService");
const ErrorInfo = mustGet("message", "google.rpc.ErrorInfo");
const BadRequest = mustGet("message", "google.rpc.BadRequest");

// The raw request header list as Node parsed it, so that repeated keys stay separate.
const kRawHeaders = createContextKey([], { description: "raw request headers" });

function headerLines(context) {
  const raw = context.values.get(kRawHeaders);
  const lines = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name.startsWith(":")) {
      continue; // HTTP/2 pseudo-headers are not metadata
    }
    // -bin values arrive base64-encoded on the wire; report them as they came.
    lines.push(`${name}: ${raw[i + 1]}`);
  }
  return lines;
}

// Sleep, but give up with the context's abort reason (deadline, cancel) when it fires.
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function statusCode(n) {
  return Number.isInteger(n) && n >= 1 && n <= 16 ? n : Code.Unknown;
}

async function echo(req, context) {
  if (req.delayMs > 0) {
    await sleep(req.delayMs, context.signal);
  }
  return { message: req.message, headers: headerLines(context), kitchen: req.kitchen };
}

const testServiceImpl = {
  echo,
  lookup: echo,
  async fail(req) {
    if (req.code === 0) {
      return {}; // status 0 is OK: nothing to fail with
    }
    const code = statusCode(req.code);
    const details = req.withDetails
      ? [
          {
            desc: ErrorInfo,
            value: {
              reason: "TEST_FAILURE",
              domain: "rpcctl.test",
              metadata: { code: String(req.code) },
            },
          },
          {
            desc: BadRequest,
            value: {
              fieldViolations: [{ field: "code", description: "requested failure" }],
            },
          },
        ]
      : [];
    throw new ConnectError(req.message, code, undefined, details);
  },
  async *count(req, context) {
    for (let n = 1; n <= req.count; n++) {
      if (n > 1 && req.intervalMs > 0) {
        await sleep(req.intervalMs, context.signal);
      }
      yield { n };
    }
    if (req.failCode !== 0) {
      throw new ConnectError(`count failed after ${req.count}`, statusCode(req.failCode));
    }
  },
  async sum(requests) {
    let total = 0n;
    let messages = 0;
    for await (const req of requests) {
      total += BigInt(req.n);
      messages += 1;
    }
    return { total, messages };
  },
  async *chat(requests, context) {
    let seq = 0;
    for await (const req of requests) {
      seq += 1;
      if (req.delayMs > 0) {
        await sleep(req.delayMs, context.signal);
      }
      yield { message: req.message, seq };
    }
  },
};

// -- the RunnerService stand-in ----------------------------------------------------

const FINAL_STATES = new Set(["success", "failure", "cancelled", "skipped"]);
const runners = new Map(); // token -> {id, uuid, token, name, version, labels}
const queue = []; // task documents not handed out yet
const tasks = new Map(); // tx_uuid -> {doc, runnerUuid, cancelled, steps: Map, updates: Map}
const streams = new Map(); // "tx/s/r/st/a" -> {tx, key, rows: [], closed}
let nextRunnerId = 1;

function runnerMessage(r) {
  return {
    id: BigInt(r.id),
    uuid: r.uuid,
    token: r.token,
    name: r.name,
    version: r.version,
    labels: [...r.labels],
  };
}

function authenticate(token) {
  const r = runners.get(token);
  if (!r) {
    throw new ConnectError("unknown runner token", Code.Unauthenticated);
  }
  return r;
}

function taskRecord(tx) {
  const t = tasks.get(tx);
  if (!t) {
    throw new ConnectError(`no task "${tx}" was handed out`, Code.NotFound);
  }
  return t;
}

function stepKeys(doc) {
  const keys = [];
  (doc.stages ?? []).forEach((stage, s) => {
    (stage.steps ?? []).forEach((_, r) => keys.push(`${s}/${r}/0`));
  });
  return keys;
}

function pipelineState(t) {
  if (t.cancelled) {
    return "cancelled";
  }
  const states = [...t.steps.values()];
  if (states.includes("failure")) {
    return "failure";
  }
  const keys = stepKeys(t.doc);
  if (keys.length > 0 && keys.every((k) => FINAL_STATES.has(t.steps.get(k)))) {
    return "success";
  }
  return "running";
}

function fetchContent(doc) {
  if (typeof doc.content === "string") {
    return doc.content;
  }
  const { content: _unused, tx_uuid, ...rest } = doc;
  return JSON.stringify({ tx_uuid, ...rest });
}

const runnerServiceImpl = {
  ping(req) {
    return { data: req.data };
  },
  register(req) {
    const r = {
      id: nextRunnerId++,
      uuid: randomUUID(),
      token: randomBytes(16).toString("hex"),
      name: req.name,
      version: req.version,
      labels: [...req.labels],
    };
    runners.set(r.token, r);
    return { runner: runnerMessage(r) };
  },
  declare(req) {
    const r = authenticate(req.token);
    if (req.uuid !== r.uuid) {
      throw new ConnectError(`no runner with uuid "${req.uuid}" for this token`, Code.NotFound);
    }
    if (req.version) {
      r.version = req.version;
    }
    if (req.labels.length > 0) {
      r.labels = [...req.labels];
    }
    return { runner: runnerMessage(r) };
  },
  fetchTask(req) {
    const r = authenticate(req.token);
    const labels = new Set(req.labels.length > 0 ? req.labels : r.labels);
    const i = queue.findIndex((doc) => (doc.labels ?? []).every((l) => labels.has(l)));
    if (i < 0) {
      const message = queue.length > 0 ? `no task for these labels (${queue.length} queued)` : "no task left";
      return { success: false, message, content: "", clean: "" };
    }
    const [doc] = queue.splice(i, 1);
    tasks.set(doc.tx_uuid, {
      doc,
      runnerUuid: r.uuid,
      cancelled: false,
      steps: new Map(),
      updates: new Map(),
    });
    return { success: true, message: "", content: fetchContent(doc), clean: "" };
  },
  updateTask(req) {
    const t = taskRecord(req.txUuid);
    const key = `${req.stageIdx}/${req.stepRowIdx}/${req.stepIdx}`;
    const state = req.state?.state || t.steps.get(key) || "";
    t.steps.set(key, state);
    t.updates.set(key, (t.updates.get(key) ?? 0) + 1);
    return { pipelineState: pipelineState(t), stepState: state, success: true };
  },
  updateLog(req) {
    taskRecord(req.txUuid);
    const index = Number(req.index);
    if (index < 0) {
      throw new ConnectError(`index ${index} is negative`, Code.InvalidArgument);
    }
    const key = `${req.stageIdx}/${req.stepRowIdx}/${req.stepIdx}/${req.actionIdx}`;
    const id = `${req.txUuid}/${key}`;
    let stream = streams.get(id);
    if (!stream) {
      stream = { tx: req.txUuid, key, rows: [], closed: false };
      streams.set(id, stream);
    }
    const next = stream.rows.length;
    if (index > next) {
      return { ackIndex: BigInt(next) }; // a gap: the runner resends from next
    }
    const fresh = req.rows.slice(next - index);
    if (stream.closed) {
      if (fresh.length > 0) {
        throw new ConnectError(`stream ${key} was closed by no_more at row ${next}`, Code.FailedPrecondition);
      }
      return { ackIndex: BigInt(next) };
    }
    stream.rows.push(...fresh);
    if (req.noMore) {
      stream.closed = true;
    }
    return { ackIndex: BigInt(stream.rows.length) };
  },
};

// -- the plain-HTTP control surface ----------------------------------------------------

const CONTROL_PREFIX = "/__peer/";

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json" });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function knownTx(tx) {
  return tasks.has(tx) || queue.some((doc) => doc.tx_uuid === tx);
}

function enqueue(body) {
  const docs = Array.isArray(body) ? body : [body];
  const added = [];
  for (const doc of docs) {
    if (doc === null || typeof doc !== "object" || !Array.isArray(doc.stages)) {
      throw new Error("a task document needs a list of stages");
    }
    const task = { ...doc, tx_uuid: doc.tx_uuid || randomUUID(), labels: doc.labels ?? [] };
    if (knownTx(task.tx_uuid) || added.some((t) => t.tx_uuid === task.tx_uuid)) {
      throw new Error(`task ${task.tx_uuid} is already known`);
    }
    added.push(task);
  }
  queue.push(...added);
  return added.map((t) => t.tx_uuid);
}

function taskView(tx) {
  const t = tasks.get(tx);
  const out = {
    tx_uuid: tx,
    runner_uuid: t?.runnerUuid ?? "",
    cancelled: t?.cancelled ?? false,
    streams: {},
    steps: Object.fromEntries(t?.steps ?? []),
    updates: Object.fromEntries(t?.updates ?? []),
  };
  const mine = [...streams.values()].filter((st) => st.tx === tx);
  const order = (k) => k.split("/").map(Number);
  mine.sort((a, b) => {
    const [x, y] = [order(a.key), order(b.key)];
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) {
        return x[i] - y[i];
      }
    }
    return 0;
  });
  for (const st of mine) {
    out.streams[st.key] = { rows: st.rows, closed: st.closed };
  }
  return out;
}

async function control(req, res, path) {
  const rest = path.slice(CONTROL_PREFIX.length);
  const [what, ...tail] = rest.split("/");
  const tx = decodeURIComponent(tail.join("/"));
  try {
    if (req.method === "POST" && what === "tasks" && !tx) {
      const text = await readBody(req);
      reply(res, 200, { tx_uuids: enqueue(JSON.parse(text)) });
    } else if (req.method === "POST" && what === "cancel" && tx) {
      await readBody(req);
      const t = tasks.get(tx);
      const i = queue.findIndex((doc) => doc.tx_uuid === tx);
      if (t) {
        t.cancelled = true;
      } else if (i >= 0) {
        const [doc] = queue.splice(i, 1);
        tasks.set(tx, { doc, runnerUuid: "", cancelled: true, steps: new Map(), updates: new Map() });
      } else {
        reply(res, 404, { error: `no task ${tx}` });
        return;
      }
      reply(res, 200, { tx_uuid: tx, cancelled: true });
    } else if (req.method === "GET" && what === "rows" && tx) {
      if (!knownTx(tx)) {
        reply(res, 404, { error: `no task ${tx}` });
        return;
      }
      reply(res, 200, taskView(tx));
    } else if (req.method === "POST" && what === "reset" && !tx) {
      await readBody(req);
      const dropped = queue.splice(0, queue.length).length;
      reply(res, 200, { dropped });
    } else {
      reply(res, 404, { error: `no control endpoint ${req.method} ${path}` });
    }
  } catch (err) {
    reply(res, 400, { error: String(err?.message ?? err) });
  }
}

const shutdown = new AbortController();
const common = {
  // The registry resolves google.protobuf.Any in JSON.
  jsonOptions: { registry },
  shutdownSignal: shutdown.signal,
  contextValues: (req) => createContextValues().set(kRawHeaders, req.rawHeaders),
};
const testHandler = connectNodeAdapter({
  ...common,
  // RunnerService at the root too: native gRPC clients cannot send a path prefix.
  routes: (router) =>
    router.service(TestService, testServiceImpl).service(RunnerService, runnerServiceImpl),
});
const runnerHandler = connectNodeAdapter({
  ...common,
  requestPathPrefix: RUNNER_PREFIX,
  routes: (router) => router.service(RunnerService, runnerServiceImpl),
});

// Prefix-only mode: no service at the root, so a client that drops the prefix gets UNIMPLEMENTED.
const prefixOnlyHandler = connectNodeAdapter({ ...common, routes: () => {} });

function route(req, res) {
  const path = (req.url ?? "").split("?", 1)[0];
  if (path.startsWith(CONTROL_PREFIX)) {
    void control(req, res, path);
  } else if (path.startsWith(`${RUNNER_PREFIX}/`)) {
    runnerHandler(req, res);
  } else if (PREFIX_ONLY) {
    prefixOnlyHandler(req, res);
  } else {
    testHandler(req, res);
  }
}

// Node 20's http2.createServer({allowHTTP1}) falls back to HTTP/1.1 only after TLS ALPN, so
// cleartext connections are sniffed here: the h2c prior-knowledge preface starts with "PRI",
// which no HTTP/1.1 method does.
const h1Server = http.createServer(route);
const h2Server = http2.createServer(route);
const H2_PREFACE_START = Buffer.from("PRI");

const server = net.createServer((socket) => {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    if (head.length < H2_PREFACE_START.length) {
      return;
    }
    socket.off("data", onData);
    socket.pause();
    socket.unshift(head);
    if (head.subarray(0, H2_PREFACE_START.length).equals(H2_PREFACE_START)) {
      // Http2Session drains what is already buffered on the socket.
      h2Server.emit("connection", socket);
      return;
    }
    h1Server.emit("connection", socket);
    // The HTTP/1.1 server reads the socket's handle directly; a 'data' listener makes it
    // read through the stream instead, so the bytes unshifted above come first.
    socket.on("data", () => {});
    socket.resume();
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
});

let stopping = false;
function stop() {
  if (stopping) {
    return;
  }
  stopping = true;
  shutdown.abort(new ConnectError("server shutting down", Code.Unavailable));
  server.close();
  h1Server.close();
  h2Server.close();
  // Open keep-alive connections would hold close() forever; the peer is disposable.
  setTimeout(() => process.exit(0), 200).unref();
}

process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.on("error", stop);
process.stdin.resume();

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
