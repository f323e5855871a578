"""rpcctl tests."""
