#!/usr/bin/env bash
# Resident memory of `wasmcache serve` and redis-server, side by side in one run, before and
# after 2 000 clients connect, send PINGs and close (redis-benchmark -c 2000), three rounds,
# measured 7 s after each (wasmcache returns freed heap pages every 5 s once 100
# connections have closed). Both listen on loopback only.
#
#   host/benches/connections-memory.sh [SERVE ARGS...]   (needs: guest-examples/setup-toolchains.sh redis)
set -euo pipefail
redis_port=6399
wasmcache_port=6398
# shellcheck source=servers.sh
source "$(dirname "$0")/servers.sh"
ulimit -n 10000

rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

printf "%-10s %6s %8s %8s %8s\n" server before round-1 round-2 round-3
for server in redis:$redis_port:$redis_pid wasmcache:$wasmcache_port:$wasmcache_pid; do
    IFS=: read -r name port pid <<<"$server"
    line=$(printf "%-10s %6s" "$name" "$(rss_mib "$pid")")
    for _ in 1 2 3; do
        redis-benchmark -h 127.0.0.1 -p "$port" -c 2000 -n 20000 -t ping -q >/dev/null 2>&1
        sleep 7
        line+=$(printf " %8s" "$(rss_mib "$pid")")
    done
    echo "$line"
done
echo "(resident MiB)"
