#!/usr/bin/env bash
# One MGET of KEYS (default 999 999) keys against redis-server and `wasmcache serve`
# (defaults), ROUNDS times (default 2), alternating the two: each server first holds
# 100 000 of those keys with 100-byte values (MSET in batches), then one client sends the
# MGET and times it from the first byte sent to the last byte of the reply (one array
# of KEYS bulk strings, a tenth of them hits). Both servers listen on loopback only.
#
#   host/benches/mget-large.sh       (needs: guest-examples/setup-toolchains.sh redis)
set -euo pipefail
redis_port=6399
wasmcache_port=6398
rounds=${ROUNDS:-2}
keys=${KEYS:-999999}
command -v python3 >/dev/null || { echo "python3 is missing: apt-get install python3" >&2; exit 127; }
# shellcheck source=servers.sh
source "$(dirname "$0")/servers.sh"

mget() {
    python3 - "$1" "$keys" <<'PY'
import socket, sys, time

port, count = int(sys.argv[1]), int(sys.argv[2])
stored = min(count, 100_000)


def command(*args):
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


conn = socket.create_connection(("127.0.0.1", port))
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for first in range(0, stored, 10_000):
    pairs = []
    for i in range(first, min(first + 10_000, stored)):
        pairs += [b"key:%d" % i, b"v" * 100]
    conn.sendall(command(b"MSET", *pairs))
    reply = b""
    while not reply.endswith(b"\r\n"):
        reply += conn.recv(65536)
    assert reply == b"+OK\r\n", reply
request = command(b"MGET", *[b"key:%d" % i for i in range(count)])
expected = len(b"*%d\r\n" % count) + stored * len(b"$100\r\n" + b"v" * 100 + b"\r\n")
expected += (count - stored) * len(b"$-1\r\n")
started = time.perf_counter()
conn.sendall(request)
received = 0
while received < expected:
    chunk = conn.recv(1 << 20)
    if not chunk:
        sys.exit(f"port {port}: connection closed after {received} of {expected} reply bytes")
    received += len(chunk)
print(f"{time.perf_counter() - started:.3f}")
PY
}

echo "one MGET of $keys keys (100 000 of them stored), seconds from request to last reply byte"
printf "%-6s %14s %16s\n" "round" "redis-server" "wasmcache serve"
for round in $(seq "$rounds"); do
    printf "%-6s %14s %16s\n" "$round" "$(mget "$redis_port")" "$(mget "$wasmcache_port")"
done
