#!/usr/bin/env bash
# Resident memory of `wasmcache serve` and redis-server, side by side in one run: empty,
# after loading ~865 000 keys of 100 bytes, and after FLUSHALL (which must empty every
# shard). Both listen on loopback only.
#
#   host/benches/flush-memory.sh [SERVE ARGS...]   (needs: guest-examples/setup-toolchains.sh redis)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: guest-examples/setup-toolchains.sh redis" >&2; exit 127; }
done
cargo build --release --quiet -p wasmcache --bin wasmcache --manifest-path "$root/Cargo.toml"
redis_port=6397
wasmcache_port=6396
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --daemonize no >/dev/null &
redis_pid=$!
"$root/target/release/wasmcache" serve --listen "127.0.0.1:$wasmcache_port" "$@" 2>/dev/null &
wasmcache_pid=$!
trap 'kill $redis_pid $wasmcache_pid 2>/dev/null; wait 2>/dev/null' EXIT
for port in $redis_port $wasmcache_port; do
    for _ in $(seq 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
done

rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

printf "%-16s %10s %10s %10s %12s %12s\n" server "empty MiB" "keys" "loaded MiB" "after flush" "keys after"
for server in redis:$redis_port:$redis_pid wasmcache:$wasmcache_port:$wasmcache_pid; do
    IFS=: read -r name port pid <<<"$server"
    empty=$(rss_mib "$pid")
    redis-benchmark -h 127.0.0.1 -p "$port" -t set -r 1000000 -n 2000000 -d 100 -P 16 -q >/dev/null 2>&1
    keys=$(redis-cli -p "$port" DBSIZE)
    loaded=$(rss_mib "$pid")
    reply=$(redis-cli -p "$port" FLUSHALL)
    [ "$reply" = OK ] || echo "$name: FLUSHALL answered: $reply" >&2
    sleep 1
    printf "%-16s %10s %10s %10s %12s %12s\n" "$name" "$empty" "$keys" "$loaded" "$(rss_mib "$pid")" "$(redis-cli -p "$port" DBSIZE)"
done
