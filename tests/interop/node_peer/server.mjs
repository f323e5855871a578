// A connect-node peer for rpcctl's interop tests.
//
// Usage: node server.mjs DESCRIPTOR_SET
//
// DESCRIPTOR_SET is a binary google.protobuf.FileDescriptorSet (protoc --include_imports) with
// rpcctl/test/v1/test.proto, pkg/proto/runner/v1/runner.proto and google/rpc/error_details.proto.
// The schema is loaded at run time: there is no generated code.
//
// One listener on 127.0.0.1, port 0, serves Connect, gRPC and gRPC-Web over HTTP/1.1 and h2c
// (prior knowledge). TestService is served at the root, RunnerService only under
// /api/v1/pipeline. The chosen port is printed as one JSON line on stdout: {"port": N}.
// The process exits when stdin closes, or on SIGTERM / SIGINT.

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

function runner(req) {
  return {
    id: 1n,
    uuid: "00000000-0000-4000-8000-000000000001",
    token: req.token || "token-1",
    name: req.name || "runner-1",
    version: req.version,
    labels: req.labels,
  };
}

const runnerServiceImpl = {
  ping(req) {
    return { data: req.data };
  },
  register(req) {
    return { runner: runner(req) };
  },
  declare(req) {
    return { runner: runner(req) };
  },
  fetchTask() {
    return { success: true, message: "no task", content: "", clean: "" };
  },
  updateTask(req) {
    return { pipelineState: "running", stepState: req.state?.state ?? "", success: true };
  },
  updateLog(req) {
    return { ackIndex: req.index + BigInt(req.rows.length) };
  },
};

const shutdown = new AbortController();
const common = {
  // The registry resolves google.protobuf.Any in JSON.
  jsonOptions: { registry },
  shutdownSignal: shutdown.signal,
  contextValues: (req) => createContextValues().set(kRawHeaders, req.rawHeaders),
};
const testHandler = connectNodeAdapter({
  ...common,
  routes: (router) => router.service(TestService, testServiceImpl),
});
const runnerHandler = connectNodeAdapter({
  ...common,
  requestPathPrefix: RUNNER_PREFIX,
  routes: (router) => router.service(RunnerService, runnerServiceImpl),
});

function route(req, res) {
  const path = (req.url ?? "").split("?", 1)[0];
  if (path.startsWith(`${RUNNER_PREFIX}/`)) {
    runnerHandler(req, res);
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
