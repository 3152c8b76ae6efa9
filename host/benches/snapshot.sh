#!/usr/bin/env bash
# Warm restarts against redis-server in one run: both servers hold the same ENTRIES
# (default 1 000 000) keys of 100-byte values, loaded with `redis-cli --pipe`; then each
# saves (SAVE, timed by the client) and restarts from its file (wasmcache reports the
# restore on stderr; redis-server logs "DB loaded from disk"). wasmcache runs the embedded
# memory guest, 2 shards, 512 MiB each.
#
#   host/benches/snapshot.sh              (needs: guest-examples/setup-toolchains.sh redis)
set -euo pipefail
entries=${ENTRIES:-1000000}
root="$(cd "$(dirname "$0")/../.." && pwd)"
for tool in redis-server redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: guest-examples/setup-toolchains.sh redis" >&2; exit 127; }
done
cargo build --release --quiet -p wasmcache --bin wasmcache --manifest-path "$root/Cargo.toml"
work="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1200); do [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ] && return; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
now_ms() { date +%s%3N; }

python3 - "$entries" >"$work/load.resp" <<'PY'
import sys
value = b"v" * 100
out = sys.stdout.buffer
for i in range(int(sys.argv[1])):
    key = b"key:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(key), key, value))
PY

redis_port=$(free_port)
ours_port=$(free_port)
start_redis() {
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work" --dbfilename dump.rdb \
        --save "" --appendonly no --daemonize no >>"$work/redis.log" 2>&1 &
    pids+=($!)
    wait_for "$redis_port"
}
start_ours() {
    "$root/target/release/wasmcache" serve --listen "127.0.0.1:$ours_port" --shards 2 \
        --max-memory-mb 512 --snapshot "$work/cache.snap" 2>>"$work/wasmcache.log" &
    pids+=($!)
    wait_for "$ours_port"
}
start_redis
start_ours
for port in $redis_port $ours_port; do
    redis-cli -p "$port" --pipe <"$work/load.resp" >/dev/null
    [ "$(redis-cli -p "$port" DBSIZE)" -eq "$entries" ] || { echo "port $port holds $(redis-cli -p "$port" DBSIZE) keys" >&2; exit 1; }
done

echo "snapshot of $entries entries of 100 B"
printf "%-16s %10s %12s %12s\n" server "save ms" "file MiB" "restore ms"
for server in redis-server wasmcache; do
    if [ $server = redis-server ]; then port=$redis_port; file="$work/dump.rdb"; else port=$ours_port; file="$work/cache.snap"; fi
    t0=$(now_ms); redis-cli -p "$port" SAVE >/dev/null; t1=$(now_ms)
    size=$(( $(stat -c %s "$file") >> 20 ))
    redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    if [ $server = redis-server ]; then
        kill "${pids[0]}" 2>/dev/null || true; wait "${pids[0]}" 2>/dev/null || true
        start_redis
        restore=$(grep -o 'DB loaded from disk: [0-9.]* seconds' "$work/redis.log" | tail -1 | awk '{printf "%d", $5 * 1000}')
    else
        kill -KILL "${pids[1]}" 2>/dev/null || true; wait "${pids[1]}" 2>/dev/null || true
        start_ours
        restore=$(grep -o 'restored [0-9]* entries from .* in [0-9]* ms' "$work/wasmcache.log" | tail -1 | awk '{print $(NF-1)}')
    fi
    [ "$(redis-cli -p "$port" DBSIZE)" -eq "$entries" ] || { echo "$server restored $(redis-cli -p "$port" DBSIZE) keys" >&2; exit 1; }
    printf "%-16s %10s %12s %12s\n" $server $((t1 - t0)) "$size" "$restore"
done
