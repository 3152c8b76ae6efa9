#!/usr/bin/env bash
# Installs the toolchains the non-Rust guest examples build with, project-locally under
# target/toolchains/ (a Python virtualenv and an npm prefix), plus the Debian packages the
# C example needs and the Redis tools the server's tests and benchmark drive it with. Safe
# to run again: what is already there is kept.
#
#   guest-examples/setup-toolchains.sh [python] [js] [c] [redis]     (no argument: all)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
tools="${WASMCACHE_TOOLCHAINS:-$root/target/toolchains}"
mkdir -p "$tools"

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(python js c redis)

# Installs missing Debian packages (needs root).
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup-toolchains: need root to install ${missing[*]}: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
}

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
        apt_install clang lld wasi-libc libclang-rt-14-dev-wasm32
        # The C example also uses wasm-tools from the Python virtualenv.
        [ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
        "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
        ;;
    redis)
        # redis-cli for the server's tests; redis-server and redis-benchmark for the
        # comparison in BENCHMARKS.md; tcl for Redis's own test suite
        # (tests/redis-suite/run.sh); redis-py (in the virtualenv) for the client tests;
        # prometheus-redis-exporter (it reads INFO) and prometheus with promtool (they scrape
        # `serve --metrics`) for the observability tests.
        apt_install redis-tools redis-server tcl prometheus-redis-exporter prometheus
        [ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
        "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tests/clients/requirements.txt"
        ;;
    *)
        echo "setup-toolchains: unknown toolchain '$lang' (python, js, c or redis)" >&2
        exit 2
        ;;
    esac
done
echo "setup-toolchains: ready in $tools"
