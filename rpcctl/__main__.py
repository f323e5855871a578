"""`python -m rpcctl`."""

from __future__ import annotations

from rpcctl.cli.app import main

if __name__ == "__main__":
    main()
