#!/usr/bin/env bash
# wasmcache serve against redis-server, on this machine, in one run: redis-benchmark's
# GET and SET with 64-byte values, 50 clients, 200 000 requests, without and with
# pipelining (-P 1 and -P 16). Both servers listen on loopback only.
#
#   host/benches/redis-benchmark.sh            (needs: guest-examples/setup-toolchains.sh redis)
set -euo pipefail
redis_port=6399
wasmcache_port=6398
# shellcheck source=servers.sh
source "$(dirname "$0")/servers.sh"

# Prints "SET GET" requests per second for one server and pipeline depth.
rates() {
    redis-benchmark -h 127.0.0.1 -p "$1" -t set,get -d 64 -n 200000 -c 50 -P "$2" -q 2>/dev/null \
        | tr '\r' '\n' | awk '/^SET:/ {set=$2} /^GET:/ {get=$2} END {print set, get}'
}

echo "redis-benchmark -t set,get -d 64 -n 200000 -c 50 (requests per second)"
printf "%-6s %-16s %12s %12s\n" "-P" "server" "SET" "GET"
for pipeline in 1 16; do
    read -r redis_set redis_get < <(rates "$redis_port" "$pipeline")
    read -r ours_set ours_get < <(rates "$wasmcache_port" "$pipeline")
    printf "%-6s %-16s %12s %12s\n" "$pipeline" "redis-server" "$redis_set" "$redis_get"
    printf "%-6s %-16s %12s %12s\n" "$pipeline" "wasmcache serve" "$ours_set" "$ours_get"
    awk -v a="$ours_set" -v b="$redis_set" -v c="$ours_get" -v d="$redis_get" -v p="$pipeline" \
        'BEGIN { printf "%-6s %-16s %11.2fx %11.2fx\n", p, "ratio", a / b, c / d }'
done
