// A connect-node peer that speaks one HTTP version only, for the recording proxy's tests.
//
// Usage: node version_peer.mjs DESCRIPTOR_SET h1|h2c [PREFIX]
//
// h1: node:http only (HTTP/1.1; an h2c preface gets no HTTP/2 answer); h2c: node:http2 only
// (prior knowledge; an HTTP/1.1 request gets no HTTP/1.1 answer). Connect, gRPC-Web, and
// native gRPC where HTTP/2 carries it. Serves rpcctl.test.v1.TestService (Echo, Fail) and
// pkg.proto.runner.v1.RunnerService (Ping), under PREFIX when given; no reflection.
// Prints {"port": N} on stdout once listening; exits when stdin closes.

import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";

import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

const [descriptorSetPath, mode, prefix] = process.argv.slice(2);
if (!descriptorSetPath || !["h1", "h2c"].includes(mode)) {
  process.stderr.write("usage: node version_peer.mjs DESCRIPTOR_SET h1|h2c [PREFIX]\n");
  process.exit(2);
}
const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath)),
);
const TestService = registry.getService("rpcctl.test.v1.TestService");
const RunnerService = registry.getService("pkg.proto.runner.v1.RunnerService");
const ErrorInfo = registry.getMessage("google.rpc.ErrorInfo");

const handler = connectNodeAdapter({
  jsonOptions: { registry },
  requestPathPrefix: prefix ?? "",
  routes: (router) =>
    router
      .service(TestService, {
        echo: (req) => ({ message: `${mode}: ${req.message}` }),
        async fail(req) {
          const details = [
            { desc: ErrorInfo, value: { reason: "TEST_FAILURE", domain: "rpcctl.test" } },
          ];
          throw new ConnectError(req.message, req.code || Code.Unknown, undefined, details);
        },
      })
      .service(RunnerService, { ping: (req) => ({ data: `${mode}: ${req.data}` }) }),
});

const server = mode === "h1" ? http.createServer(handler) : http2.createServer(handler);
server.on("sessionError", () => {});
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
