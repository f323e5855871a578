"""One listening port serving Connect, gRPC-Web and native gRPC for a table of handlers.

- `call`: the handler interface (`ServerCall`, `Handler`, `HandlerTable`).
- `typed`: handlers from async functions on protobuf messages.
- `serve`: `Server` / `serve()`, hypercorn in the running event loop.
- `app`: the ASGI app dispatching by content type and path; `http_call`: one call's life.
- `builtin`: reflection v1/v1alpha and grpc.health.v1 for the served schema.
- `observer`: publishes the START/REQUEST/RESPONSE/END events of every call (`rpcctl.call_events`).
"""
