"""The one-file executable's entry point (PyInstaller runs a script, not a console script)."""

from rpcctl.cli.app import main

if __name__ == "__main__":
    main()
