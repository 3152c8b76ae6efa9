#!/usr/bin/env bash
# Resident memory of `wasmcache serve` and redis-server, side by side in one run: empty,
# after loading ~865 000 keys of 100 bytes, after deleting 90 % of them one by one (then
# waiting 15 s, in which wasmcache's housekeeping compacts sparse shards), and after
# FLUSHALL (which must empty every shard). Both listen on loopback only.
#
#   host/benches/flush-memory.sh [SERVE ARGS...]   (needs: guest-examples/setup-toolchains.sh redis)
set -euo pipefail
redis_port=6397
wasmcache_port=6396
# shellcheck source=servers.sh
source "$(dirname "$0")/servers.sh"

rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# DEL of every key redis-benchmark's -r 1000000 may have written from key:000000100000 on.
deletes() {
    awk 'BEGIN { for (i = 100000; i < 1000000; i++) printf "*2\r\n$3\r\nDEL\r\n$16\r\nkey:%012d\r\n", i }'
}

printf "%-10s %6s %8s %7s %14s %6s %12s %6s\n" server "empty" "keys" "loaded" "90% deleted" "keys" "after flush" "keys"
for server in redis:$redis_port:$redis_pid wasmcache:$wasmcache_port:$wasmcache_pid; do
    IFS=: read -r name port pid <<<"$server"
    empty=$(rss_mib "$pid")
    redis-benchmark -h 127.0.0.1 -p "$port" -t set -r 1000000 -n 2000000 -d 100 -P 16 -q >/dev/null 2>&1
    keys=$(redis-cli -p "$port" DBSIZE)
    loaded=$(rss_mib "$pid")
    deletes | redis-cli -p "$port" --pipe >/dev/null
    sleep 15
    sparse=$(rss_mib "$pid")
    left=$(redis-cli -p "$port" DBSIZE)
    reply=$(redis-cli -p "$port" FLUSHALL)
    [ "$reply" = OK ] || echo "$name: FLUSHALL answered: $reply" >&2
    sleep 1
    printf "%-10s %6s %8s %7s %14s %6s %12s %6s\n" "$name" "$empty" "$keys" "$loaded" "$sparse" "$left" "$(rss_mib "$pid")" "$(redis-cli -p "$port" DBSIZE)"
done
echo "(resident MiB; keys from DBSIZE)"
