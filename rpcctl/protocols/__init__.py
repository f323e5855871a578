"""Wire protocols over HTTP: Connect and gRPC-Web (client halves; server halves to come).

Each protocol module is sans-IO: it builds request heads and bodies from messages, and
interprets a response (status line, headers, body bytes in any chunking) as messages, trailers
and a final status. The transport (`rpcctl.transport.exchange`) only moves the bytes.
"""
