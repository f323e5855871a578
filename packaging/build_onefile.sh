#!/usr/bin/env bash
# Build rpcctl as one executable file for this machine's platform (Linux x86-64 in CI).
#
#   bash packaging/build_onefile.sh [OUT_DIR]                -> OUT_DIR/rpcctl (default dist/)
#   bash packaging/build_onefile.sh --pyinstaller [OUT_DIR]  -> the same, fully self-contained
#
# Default: a shiv zipapp (https://shiv.readthedocs.io). It holds rpcctl and every dependency
# and runs on the python3.X it was built with (the shebang names it: binary wheels such as
# grpcio and protobuf are built for one Python version); its first run unpacks it once into
# ~/.shiv (or $SHIV_ROOT); later runs start from there without shiv's bootstrap
# (packaging/onefile_main.py), about as fast as a venv install.
# --pyinstaller: a PyInstaller one-file executable with its own Python, for hosts without
# that python3.X; every run unpacks ~20 MB to a temporary directory first, so it starts
# several times slower (figures in the README).
# Run it with the Python that will run rpcctl; it installs the packager with pip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
packager=shiv
if [ "${1:-}" = "--pyinstaller" ]; then
  packager=pyinstaller
  shift
fi
out=$(realpath -m "${1:-dist}")
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/rpcctl-onefile.XXXXXX")
trap 'rm -rf "$work"' EXIT
python=$(python -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')

if [ "$packager" = shiv ]; then
  python -m pip install -q "shiv>=1.0.8"
  python -m shiv --console-script rpcctl --python "/usr/bin/env $python" \
    --compressed --compile-pyc --output-file "$work/rpcctl.pyz" "$root" >"$work/shiv.log" 2>&1 ||
    { cat "$work/shiv.log" >&2; exit 1; }
  # The archive again with packaging/onefile_main.py as its __main__.py (a run after the first
  # starts without shiv's bootstrap: see that file), the shebang kept.
  python - "$work/rpcctl.pyz" "$out/rpcctl" "$root/packaging/onefile_main.py" <<'PY'
import json, os, sys, zipfile
built, out, template = sys.argv[1:]
with open(built, "rb") as f:
    shebang = f.readline()
with zipfile.ZipFile(built) as old:
    build_id = json.loads(old.read("environment.json"))["build_id"]
    main = open(template).read().replace("@BUILD_ID@", build_id)
    with open(out, "wb") as f:
        f.write(shebang)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, main if info.filename == "__main__.py" else old.read(info))
os.chmod(out, 0o755)
PY
else
  python -m pip install -q "pyinstaller>=6.10"
  # rpcctl loads its commands and the well-known types by module name (importlib), and
  # grpc_tools' compiler imports grpc_tools.grpc_version from C: PyInstaller's import scan
  # sees none of them, so those packages are collected whole.
  python -m PyInstaller --noconfirm --clean --onefile --strip --log-level WARN \
    --name rpcctl --distpath "$out" --workpath "$work/build" --specpath "$work" \
    --collect-submodules rpcctl --collect-data rpcctl \
    --add-data "$root/descriptors:rpcctl/_descriptors" \
    --collect-submodules google.protobuf --collect-submodules google.rpc \
    --collect-submodules grpc_tools --collect-data grpc_tools --collect-data textual \
    "$root/packaging/rpcctl_entry.py"
fi
echo "built $out/rpcctl with $packager ($(du -h "$out/rpcctl" | cut -f1))"
