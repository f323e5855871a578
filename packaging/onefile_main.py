"""The one-file build's `__main__.py`: start rpcctl at once from this build's unpacked files.

shiv's bootstrap (https://shiv.readthedocs.io) unpacks the archive's site-packages once into
$SHIV_ROOT (default ~/.shiv) as NAME_BUILDID/site-packages, atomically, then on every run imports
about 20 modules of its own (compileall, hashlib, zipfile, json, pathlib, subprocess, ...)
before it adds that directory and calls rpcctl: ~55 ms of each start, four times rpcctl's own
`--help` (`python benchmarks/call_latency.py --rpcctl dist/rpcctl`). Once the directory is
there, this adds it the way shiv does (site.addsitedir, placed before any other
site-packages) and calls rpcctl's entry point itself. The first run, and any run with a
SHIV_* variable other than SHIV_ROOT (SHIV_FORCE_EXTRACT, SHIV_INTERPRETER, ...), goes through
shiv's bootstrap unchanged. packaging/build_onefile.sh puts this file into the archive with
the build id filled in.
"""

import os
import sys

BUILD_ID = "@BUILD_ID@"


def unpacked():
    """This build's unpacked site-packages, or None when shiv's bootstrap must run."""
    if any(name.startswith("SHIV_") and name != "SHIV_ROOT" for name in os.environ):
        return None
    root = os.path.expanduser(os.environ.get("SHIV_ROOT") or "~/.shiv")
    name = os.path.basename(os.path.realpath(sys.argv[0]))
    path = os.path.join(root, f"{name}_{BUILD_ID}", "site-packages")
    return path if os.path.isdir(path) else None


site_packages = unpacked()
if site_packages is None:
    import _bootstrap

    _bootstrap.bootstrap()
else:
    import site

    length = len(sys.path)
    first = next(
        (
            i
            for i, part in enumerate(sys.path)
            if os.path.basename(part) in ("site-packages", "dist-packages")
        ),
        length,
    )
    site.addsitedir(site_packages)
    sys.path = sys.path[:first] + sys.path[length:] + sys.path[first:length]
    from rpcctl.cli.app import main

    sys.exit(main())
