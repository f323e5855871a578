"""Sans-IO building blocks shared by the client and server halves of every protocol."""
