#!/usr/bin/env bash
# Install the interop peers' npm packages (connect-node, protobuf-es, buf) from the committed
# package-lock.json. Run from the repository root; CI calls it from .ci/run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peer="$here/node_peer"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install_peers.sh: node and npm are required (Node.js >= 20)" >&2
    exit 1
fi

# --ignore-scripts: @bufbuild/buf's postinstall only swaps its launcher for the platform binary;
# the launcher works without it. --no-audit/--no-fund keep CI output and network use down.
npm ci --prefix "$peer" --ignore-scripts --no-audit --no-fund --loglevel=error

"$peer/node_modules/.bin/buf" --version >/dev/null
echo "interop peers installed: node $(node --version), buf $("$peer/node_modules/.bin/buf" --version)"
