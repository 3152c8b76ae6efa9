#!/usr/bin/env bash
# Resident memory of `wasmcache serve` and redis-server, side by side in one run: empty,
# after loading ~865 000 keys of 100 bytes, and after FLUSHALL (which must empty every
# shard). Both listen on loopback only.
#
#   host/benches/flush-memory.sh [SERVE ARGS...]   (needs: guest-examples/setup-toolchains.sh redis)
set -euo pipefail
redis_port=6397
wasmcache_port=6396
# shellcheck source=servers.sh
source "$(dirname "$0")/servers.sh"

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
