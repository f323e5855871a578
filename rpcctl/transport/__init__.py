"""How bytes move: grpcio for native gRPC, HTTP clients for Connect and gRPC-Web."""
