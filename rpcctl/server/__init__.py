"""One listening port serving Connect, gRPC-Web and native gRPC for a table of handlers."""
