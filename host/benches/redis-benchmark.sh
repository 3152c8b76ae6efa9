#!/usr/bin/env bash
# wasmcache serve against redis-server, on this machine, in one run: redis-benchmark's
# SET and GET with 64-byte values, 50 clients, random keys out of 100 000, without and with
# pipelining (-P 1 and -P 16), each row alternating the two servers, ROUNDS times (default
# 2). Prints requests per second and p99 latency. Both servers listen on loopback only.
#
#   host/benches/redis-benchmark.sh            both servers free to use both cores
#   host/benches/redis-benchmark.sh --pinned   each server on core 1 (`taskset -c 1`,
#                                              wasmcache with --shards 1), the benchmark
#                                              on core 0: the per-core comparison
#
# Needs: guest-examples/setup-toolchains.sh redis
set -euo pipefail
redis_port=6399
wasmcache_port=6398
rounds=${ROUNDS:-2}
requests=${REQUESTS:-200000}
pin_bench=()
if [ "${1:-}" = "--pinned" ]; then
    export SERVER_PREFIX="taskset -c 1"
    pin_bench=(taskset -c 0)
    # shellcheck source=servers.sh
    source "$(dirname "$0")/servers.sh" --shards 1
else
    # shellcheck source=servers.sh
    source "$(dirname "$0")/servers.sh"
fi

# Prints "SET-rps SET-p99 GET-rps GET-p99" for one server and pipeline depth.
rates() {
    "${pin_bench[@]}" redis-benchmark -h 127.0.0.1 -p "$1" -t set,get -d 64 -n "$requests" \
        -c 50 -r 100000 -P "$2" --csv 2>/dev/null \
        | tr -d '"' | awk -F, '$1 == "SET" {s = $2; sp = $7} $1 == "GET" {g = $2; gp = $7}
                               END {print s, sp, g, gp}'
}

echo "redis-benchmark -t set,get -d 64 -n $requests -c 50 -r 100000 ${1:-} (requests/s, p99 ms)"
printf "%-4s %-16s %12s %8s %12s %8s\n" "-P" "server" "SET/s" "p99" "GET/s" "p99"
for round in $(seq "$rounds"); do
    for pipeline in 1 16; do
        read -r rs rsp rg rgp < <(rates "$redis_port" "$pipeline")
        read -r os osp og ogp < <(rates "$wasmcache_port" "$pipeline")
        printf "%-4s %-16s %12s %8s %12s %8s\n" "$pipeline" "redis-server" "$rs" "$rsp" "$rg" "$rgp"
        printf "%-4s %-16s %12s %8s %12s %8s\n" "$pipeline" "wasmcache serve" "$os" "$osp" "$og" "$ogp"
        awk -v a="$os" -v b="$rs" -v c="$og" -v d="$rg" -v p="$pipeline" -v r="$round" \
            'BEGIN { printf "%-4s %-16s %11.2fx %8s %11.2fx\n", p, "ratio (round " r ")", a / b, "", c / d }'
    done
done
