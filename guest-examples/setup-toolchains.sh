#!/usr/bin/env bash
# Installs the toolchains the non-Rust guest examples build with, project-locally under
# target/toolchains/ (a Python virtualenv and an npm prefix), plus the Debian packages the
# C example needs. Safe to run again: what is already there is kept.
#
#   guest-examples/setup-toolchains.sh [python] [js] [c]     (no argument: all three)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
tools="${WASMCACHE_TOOLCHAINS:-$root/target/toolchains}"
mkdir -p "$tools"

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(python js c)

for lang in "${want[@]}"; do
    case "$lang" in
    python)
        # componentize-py for the Python example; wasm-tools (a prebuilt binary on PyPI)
        # turns the C example's core module into a component.
        [ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
        "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
        ;;
    js)
        mkdir -p "$tools/js"
        cp "$here/js/package.json" "$here/js/package-lock.json" "$tools/js/"
        (cd "$tools/js" && npm ci --no-audit --no-fund --loglevel=error)
        ;;
    c)
        missing=()
        for pkg in clang lld wasi-libc libclang-rt-14-dev-wasm32; do
            dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
        done
        if [ ${#missing[@]} -gt 0 ]; then
            if [ "$(id -u)" -ne 0 ]; then
                echo "setup-toolchains: need root to install ${missing[*]}: sudo apt-get install -y ${missing[*]}" >&2
                exit 1
            fi
            apt-get update -q
            apt-get install -y -q "${missing[@]}"
        fi
        # The C example also uses wasm-tools from the Python virtualenv.
        [ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
        "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
        ;;
    *)
        echo "setup-toolchains: unknown toolchain '$lang' (python, js or c)" >&2
        exit 2
        ;;
    esac
done
echo "setup-toolchains: ready in $tools"
